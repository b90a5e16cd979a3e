using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Recipients;

internal static class RecipientRuleEndpoints
{
    public static RouteGroupBuilder MapRecipientRulesApi(this RouteGroupBuilder group)
    {
        group.MapPut("/recipients/{recipient}", SaveRule).WithName("SaveRecipientRule");
        group.MapDelete("/recipients/{recipient}", DeleteRule).WithName("DeleteRecipientRule");
        group.MapDelete("/recipients", DeleteAllRules).WithName("DeleteAllRecipientRules");
        return group;
    }

    public static Results<NoContent, ValidationProblem> SaveRule(string recipient, RecipientRuleRequest request, RecipientRules rules)
    {
        if (!RecipientNumber.TryGetWaId(recipient, out var waId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["recipient"] = ["must be 7 to 15 digits, optionally after a +"],
            });
        }

        var errors = request.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        rules.Save(waId, request.ToRule());
        return TypedResults.NoContent();
    }

    public static Results<NoContent, NotFound> DeleteRule(string recipient, RecipientRules rules) =>
        RecipientNumber.TryGetWaId(recipient, out var waId) && rules.Remove(waId)
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    public static NoContent DeleteAllRules(RecipientRules rules)
    {
        rules.Clear();
        return TypedResults.NoContent();
    }
}
