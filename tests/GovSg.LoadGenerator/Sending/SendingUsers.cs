using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Sending;

/// <summary>Who sends: warm-up sends and measured sends go out as different users, taken in turn.</summary>
internal sealed record SendingUsers(IReadOnlyList<BenchUser> Warmup, IReadOnlyList<BenchUser> Measured)
{
    public BenchUser For(long send, bool measured)
    {
        var users = measured ? Measured : Warmup;
        return users[(int)(send % users.Count)];
    }
}
