using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace GovSg.Tests;

/// <summary>
/// RabbitMqOptions is compiled into both services, so this assembly sees two types of that name: this makes the one a
/// service's constructor takes, bound from settings as its host would bind them.
/// </summary>
internal static class LinkedRabbitMqOptions
{
    public static object For(Type service, IReadOnlyDictionary<string, string?> settings)
    {
        var parameter = service.GetConstructors().Single().GetParameters()
            .Single(p => p.ParameterType.IsGenericType && p.ParameterType.GetGenericArguments()[0].Name == "RabbitMqOptions");
        var optionsType = parameter.ParameterType.GetGenericArguments()[0];
        var value = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("RabbitMq").Get(optionsType)
            ?? Activator.CreateInstance(optionsType)!;
        return typeof(Options).GetMethod(nameof(Options.Create))!.MakeGenericMethod(optionsType).Invoke(null, [value])!;
    }
}
