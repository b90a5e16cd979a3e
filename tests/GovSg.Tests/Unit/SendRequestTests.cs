using System.Text.Json;
using GovSg.Api.Messages;

namespace GovSg.Tests.Unit;

public sealed class SendRequestTests
{
    private const string Valid = """{"recipient":"91234567","template_id":1,"params":{"a":"x"},"language_code":"ms"}""";

    [TestCase("""{"template_id":1}""", "\"recipient\" is required")]
    [TestCase("""{"recipient":91234567,"template_id":1}""", "\"recipient\" must be a string")]
    [TestCase("""{"recipient":null,"template_id":1}""", "\"recipient\" must be a string")]
    [TestCase("""{"recipient":"","template_id":1}""", "\"recipient\" is not allowed to be empty")]
    [TestCase("""{"recipient":"91234567"}""", "\"template_id\" is required")]
    [TestCase("""{"recipient":"91234567","template_id":"abc"}""", "\"template_id\" must be a number")]
    [TestCase("""{"recipient":"91234567","template_id":"-1"}""", "\"template_id\" must be a number")]
    [TestCase("""{"recipient":"91234567","template_id":true}""", "\"template_id\" must be a number")]
    [TestCase("""{"recipient":"91234567","template_id":1.5}""", "\"template_id\" must be an integer")]
    [TestCase("""{"recipient":"91234567","template_id":0}""", "\"template_id\" must be a positive number")]
    [TestCase("""{"recipient":"91234567","template_id":-3}""", "\"template_id\" must be a positive number")]
    [TestCase("""{"recipient":"91234567","template_id":9007199254740993}""", "\"template_id\" must be a safe number")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":[]}""", "\"params\" must be an object")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":"a=b"}""", "\"params\" must be an object")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":{"a":1}}""", "\"params.a\" must be a string")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":{"a":""}}""", "\"params.a\" is not allowed to be empty")]
    [TestCase("""{"recipient":"91234567","template_id":1,"language_code":"fr"}""", "\"language_code\" must be one of [en_GB, zh_CN, ms, ta]")]
    [TestCase("""{"recipient":"91234567","template_id":1,"language_code":1}""", "\"language_code\" must be one of [en_GB, zh_CN, ms, ta]")]
    [TestCase("""{"recipient":"91234567","template_id":1,"priority":"high"}""", "\"priority\" is not allowed")]
    [TestCase("""[]""", "\"value\" must be of type object")]
    public void TryParse_WhenShapeIsWrong_NamesTheField(string body, string message)
    {
        var error = SendRequest.TryParse(Parse(body), out var request);

        Assert.That(error?.Body.Code, Is.EqualTo("api_validation"));
        Assert.That(error?.Body.Message, Is.EqualTo(message));
        Assert.That(request, Is.Null);
    }

    [TestCase("""{"extra":1,"language_code":"fr","params":[],"template_id":"x"}""", "\"recipient\" is required")]
    [TestCase("""{"extra":1,"language_code":"fr","params":[],"template_id":"x","recipient":"9"}""", "\"template_id\" must be a number")]
    [TestCase("""{"extra":1,"language_code":"fr","params":[],"template_id":1,"recipient":"9"}""", "\"params\" must be an object")]
    [TestCase("""{"extra":1,"language_code":"fr","template_id":1,"recipient":"9"}""", "\"language_code\" must be one of [en_GB, zh_CN, ms, ta]")]
    public void TryParse_WhenSeveralThingsAreWrong_ReportsTheFirstInTableOrder(string body, string message)
    {
        var error = SendRequest.TryParse(Parse(body), out _);

        Assert.That(error?.Body.Message, Is.EqualTo(message));
    }

    [Test]
    public void TryParse_WhenValid_KeepsEveryField()
    {
        var error = SendRequest.TryParse(Parse(Valid), out var request);

        Assert.That(error, Is.Null);
        Assert.That(request, Is.EqualTo(request! with { Recipient = "91234567", TemplateId = 1, LanguageCode = "ms" }));
        Assert.That(request.Params, Is.EqualTo(new[] { new KeyValuePair<string, string>("a", "x") }));
    }

    [TestCase("""{"recipient":"91234567","template_id":"12"}""", 12)]
    [TestCase("""{"recipient":"91234567","template_id":"007"}""", 7)]
    [TestCase("""{"recipient":"91234567","template_id":3.0}""", 3)]
    public void TryParse_WhenTemplateIdIsADigitStringOrWholeNumber_AcceptsIt(string body, long expected)
    {
        SendRequest.TryParse(Parse(body), out var request);

        Assert.That(request?.TemplateId, Is.EqualTo(expected));
    }

    [Test]
    public void TryParse_WhenOptionalFieldsAreAbsent_DefaultsToEnglishAndNoParams()
    {
        SendRequest.TryParse(Parse("""{"recipient":"91234567","template_id":1}"""), out var request);

        Assert.That(request?.LanguageCode, Is.EqualTo("en_GB"));
        Assert.That(request?.Params, Is.Empty);
    }

    [Test]
    public void TryParse_WhenThereAreMoreThan100Params_RefusesThem()
    {
        var error = SendRequest.TryParse(Parse(WithParams(101)), out var request);

        Assert.That(error?.Body.Message, Is.EqualTo("\"params\" must have less than or equal to 100 keys"));
        Assert.That(request, Is.Null);
    }

    [Test]
    public void TryParse_WhenThereAre100Params_AcceptsThem()
    {
        var error = SendRequest.TryParse(Parse(WithParams(100)), out var request);

        Assert.That(error, Is.Null);
        Assert.That(request?.Params, Has.Count.EqualTo(100));
    }

    [Test]
    public void TryParse_WhenAParamIsRepeated_KeepsItsFirstPlaceAndLastValueAndCountsItOnce()
    {
        var body = WithParams(100)[..^2] + ""","p0":"last"}}""";

        var error = SendRequest.TryParse(Parse(body), out var request);

        Assert.That(error, Is.Null);
        Assert.That(request?.Params, Has.Count.EqualTo(100));
        Assert.That(request?.Params[0], Is.EqualTo(new KeyValuePair<string, string>("p0", "last")));
    }

    private static string WithParams(int count) =>
        """{"recipient":"91234567","template_id":1,"params":{"""
        + string.Join(',', Enumerable.Range(0, count).Select(i => $"\"p{i}\":\"v\"")) + "}}";

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;
}
