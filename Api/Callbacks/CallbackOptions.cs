namespace GovSg.Api.Callbacks;

public sealed class CallbackOptions
{
    public const string SectionName = "Callbacks";

    /// <summary>Local runs only: lets a callback URL be <c>http</c> and point at loopback (SPEC §11.1).</summary>
    public bool AllowInsecureLoopback { get; set; }
}
