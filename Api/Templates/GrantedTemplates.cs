using GovSg.Api.Extensions;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Templates;

public sealed class TemplateOptions
{
    public const string SectionName = "Templates";

    /// <summary>How long a granted template is trusted before it is looked up again; bounds how late a revoked grant or an edit bites.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>The templates a user may send, as the send path looks them up: from PostgreSQL, kept briefly.</summary>
public sealed class GrantedTemplates(TemplateStore store, IOptions<TemplateOptions> options, TimeProvider time)
{
    private readonly ShortLivedCache<(long UserId, long TemplateId), Template> _cache = new(options.Value.CacheDuration, time);

    /// <summary>The template, if it exists and is granted to the user; a missing grant looks exactly like a missing template.</summary>
    public ValueTask<Template?> FindAsync(long userId, long templateId, CancellationToken cancellationToken) =>
        _cache.GetOrLoadAsync((userId, templateId), () => store.FindGrantedAsync(userId, templateId, CancellationToken.None), cancellationToken);
}
