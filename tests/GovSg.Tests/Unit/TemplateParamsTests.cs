using GovSg.Api.Messages;
using GovSg.Api.Templates;

namespace GovSg.Tests.Unit;

public sealed class TemplateParamsTests
{
    private static readonly Template WithParams = new(7, "Call", "call_v1", "Hi {{name}}, at {{time}}", ["name", "time"], "{}",
        new Dictionary<string, string>());

    private static readonly Template WithoutParams = new(8, "Notice", "notice_v1", "Maintenance tonight", [], "{}",
        new Dictionary<string, string>());

    [Test]
    public void Validate_WhenNoneGivenButTemplateNeedsSome_SaysSo() =>
        Assert.That(Validate(WithParams), Is.EqualTo("No params provided; params needed for template 7"));

    [Test]
    public void Validate_WhenSomeGivenButTemplateTakesNone_SaysSo() =>
        Assert.That(Validate(WithoutParams, ("name", "x")), Is.EqualTo("Template 8 does not accept any params"));

    [Test]
    public void Validate_WhenSomeAreMissing_ListsThemInTemplateOrder() =>
        Assert.That(Validate(WithParams, ("other", "x")), Is.EqualTo("Missing values for params name, time"));

    [Test]
    public void Validate_WhenUndeclaredOnesAreGiven_ListsThem() =>
        Assert.That(Validate(WithParams, ("time", "1pm"), ("x", "1"), ("name", "A"), ("y", "2")),
            Is.EqualTo("Unexpected params for template 7: x, y"));

    [TestCase("line\nbreak", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("carriage\rreturn", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("a\ttab", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("five     spaces", "\"params.name\" must not contain more than 4 consecutive spaces")]
    [TestCase("vertical\vtab", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("next\u0085line", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("line\u2028separator", "\"params.name\" must not contain newlines or tabs")]
    [TestCase("nul\0char", "\"params.name\" must not contain control characters")]
    public void Validate_WhenAValueWhatsAppWouldRejectIsGiven_NamesTheParam(string value, string message) =>
        Assert.That(Validate(WithParams, ("name", value), ("time", "1pm")), Is.EqualTo(message));

    // Not a test case: a case whose name holds this control character is discovered but never run by a filtered run.
    [Test]
    public void Validate_WhenAValueHoldsAUnitSeparator_NamesTheParam() =>
        Assert.That(Validate(WithParams, ("name", "unit\u001fseparator"), ("time", "1pm")),
            Is.EqualTo("\"params.name\" must not contain control characters"));

    [Test]
    public void Validate_WhenFourConsecutiveSpaces_Accepts() =>
        Assert.That(Validate(WithParams, ("name", "four    spaces"), ("time", "1pm")), Is.Null);

    [Test]
    public void Validate_WhenAValueIsOver1024Characters_NamesTheParam() =>
        Assert.That(Validate(WithParams, ("name", new string('a', 1025)), ("time", "1pm")),
            Is.EqualTo("\"params.name\" length must be less than or equal to 1024 characters long"));

    [Test]
    public void Validate_WhenTheFilledBodyIsOver1024Characters_Refuses() =>
        Assert.That(Validate(WithParams, ("name", new string('a', 1000)), ("time", new string('b', 20))),
            Is.EqualTo("Template 7 with these params exceeds 1024 characters"));

    [Test]
    public void Validate_WhenTheFilledBodyIsExactly1024Characters_Accepts()
    {
        var fixedLength = "Hi , at ".Length;
        Assert.That(Validate(WithParams, ("name", new string('a', 1024 - fixedLength - 3)), ("time", "1pm")), Is.Null);
    }

    [Test]
    public void Validate_WhenAValueHoldsAPlaceholder_MeasuresItAsWrittenNotExpanded() =>
        Assert.That(Validate(WithParams, ("name", string.Concat(Enumerable.Repeat("{{time}}", 127))), ("time", "1pm")),
            Is.EqualTo("Template 7 with these params exceeds 1024 characters"));

    [Test]
    public void Fill_DoesNotExpandPlaceholdersInsideValues() =>
        Assert.That(TemplateParams.Fill(WithParams.Body, [new("name", "{{time}}"), new("time", "2pm")]),
            Is.EqualTo("Hi {{time}}, at 2pm"));

    [Test]
    public void Fill_ReplacesEveryPlaceholder() =>
        Assert.That(TemplateParams.Fill(WithParams.Body, [new("name", "Ann"), new("time", "2pm")]), Is.EqualTo("Hi Ann, at 2pm"));

    [Test]
    public void Validate_WhenTheTemplateTakesNoneAndNoneAreGiven_Accepts() =>
        Assert.That(Validate(WithoutParams), Is.Null);

    [Test]
    public void Validate_WhenAValueIsExactly1024Characters_AcceptsIt() =>
        Assert.That(TemplateParams.ValueError(new string('a', 1024)), Is.Null);

    [TestCase("\nstarts with a line break")]
    [TestCase("\tstarts with a tab")]
    public void ValueError_WhenTheValueStartsWithALineBreakOrTab_RefusesIt(string value) =>
        Assert.That(TemplateParams.ValueError(value), Is.EqualTo("must not contain newlines or tabs"));

    [Test]
    public void Fill_LeavesAPlaceholderWithoutAValueAsItIs() =>
        Assert.That(TemplateParams.Fill("Hi {{name}}, ref {{ref}}", [new("name", "Ann")]), Is.EqualTo("Hi Ann, ref {{ref}}"));

    private static string? Validate(Template template, params (string Name, string Value)[] given) =>
        TemplateParams.Validate(template, template.Body,
            given.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)).ToList())?.Body.Message;
}
