using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Messages;

public sealed class MessagesOptions
{
    public const string SectionName = "Messages";

    /// <summary>
    /// A message no dispatcher has picked up within this time has its command re-published by the Dispatcher's
    /// sweeper (SPEC §5); the Dispatcher's <c>Sweep:PickUpDeadline</c> is the same allowance for re-published commands.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PickUpDeadline { get; set; } = TimeSpan.FromSeconds(60);
}
