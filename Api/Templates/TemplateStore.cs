using System.Text.Json;
using Dapper;
using Npgsql;

namespace GovSg.Api.Templates;

public sealed class TemplateStore(NpgsqlDataSource dataSource)
{
    private const string Columns = """
        t.id, t.name, t.whatsapp_template_name, t.body, t.params, t.param_metadata::text AS param_metadata,
        t.translations::text AS translations
        """;

    private const string FindGrantedSql = $"""
        SELECT {Columns}
        FROM templates t
        JOIN template_grants g ON g.template_id = t.id AND g.user_id = @userId
        WHERE t.id = @templateId
        """;

    private const string ListGrantedSql = $"""
        SELECT {Columns}
        FROM templates t
        JOIN template_grants g ON g.template_id = t.id AND g.user_id = @userId
        ORDER BY t.id
        """;

    public async Task<Template?> FindGrantedAsync(long userId, long templateId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<TemplateRow>(
            new CommandDefinition(FindGrantedSql, new { userId, templateId }, cancellationToken: cancellationToken));
        return row?.ToTemplate();
    }

    public async Task<IReadOnlyList<Template>> ListGrantedAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<TemplateRow>(
            new CommandDefinition(ListGrantedSql, new { userId }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToTemplate()).ToList();
    }

    private sealed class TemplateRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string WhatsappTemplateName { get; init; } = "";
        public string Body { get; init; } = "";
        public string[] Params { get; init; } = [];
        public string ParamMetadata { get; init; } = "{}";
        public string Translations { get; init; } = "{}";

        public Template ToTemplate() => new(Id, Name, WhatsappTemplateName, Body, Params, ParamMetadata,
            JsonSerializer.Deserialize<Dictionary<string, string>>(Translations) ?? []);
    }
}
