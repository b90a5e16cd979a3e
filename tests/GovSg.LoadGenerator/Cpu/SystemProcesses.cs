using System.Globalization;
using Dapper;
using Npgsql;

namespace GovSg.LoadGenerator.Cpu;

/// <summary>
/// The processes of the system under test on this machine, and the CPU each part has used so far, from <c>/proc</c>:
/// the services started by deploy/local/up.sh (one <c>.pid</c> file each: api, dispatcher, dispatcher-2, simulator),
/// PostgreSQL (its postmaster and every backend — those that exited too, through the postmaster's reaped-children
/// time), RabbitMQ (the Erlang VM and its helpers) and the load generator itself. Only processes of this machine's own
/// PID namespace count, so the containers of test runs beside it are left out.
/// </summary>
internal sealed class SystemProcesses
{
    public const string PostgreSql = "PostgreSQL";
    public const string RabbitMq = "RabbitMQ";
    public const string LoadGenerator = "load generator";

    // /proc reports times in clock ticks of USER_HZ, which Linux fixes at 100 for user space.
    private const double TicksPerSecond = 100;

    private static readonly HashSet<string> ErlangProcesses = ["beam.smp", "erl_child_setup", "epmd", "inet_gethost"];

    private readonly IReadOnlyDictionary<int, string> _services;
    private readonly int? _postmaster;
    private readonly string _namespace = PidNamespace(Environment.ProcessId) ?? "";

    private SystemProcesses(IReadOnlyDictionary<int, string> services, int? postmaster)
    {
        _services = services;
        _postmaster = postmaster;
    }

    /// <summary>The parts, in the order they are reported.</summary>
    public IEnumerable<string> Parts =>
        _services.Values.Order(StringComparer.Ordinal).Concat([PostgreSql, RabbitMq, LoadGenerator]);

    /// <summary>
    /// Finds the services through their pid files in <paramref name="pidFolder"/>, and PostgreSQL as the parent of the
    /// backend serving this tool's connection (absent when the database runs elsewhere).
    /// </summary>
    public static async Task<SystemProcesses> FindAsync(NpgsqlDataSource dataSource, string pidFolder, CancellationToken cancellationToken)
    {
        var services = Directory.Exists(pidFolder)
            ? Directory.GetFiles(pidFolder, "*.pid")
                .Select(file => (Name: Path.GetFileNameWithoutExtension(file), Pid: int.TryParse(File.ReadAllText(file).Trim(), out var pid) ? pid : 0))
                .Where(service => service.Pid > 0 && Stat.Read(service.Pid) is not null)
                .ToDictionary(service => service.Pid, service => service.Name)
            : [];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var backend = await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT pg_backend_pid()", cancellationToken: cancellationToken));
        return new SystemProcesses(services, Stat.Read(backend)?.ParentPid);
    }

    /// <summary>CPU seconds (user and system) each part has used since it started.</summary>
    public CpuSample Sample()
    {
        var seconds = Parts.ToDictionary(part => part, _ => 0.0, StringComparer.Ordinal);
        foreach (var pid in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).OfType<string>()
                     .Select(name => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                     .Where(pid => pid > 0))
        {
            if (Stat.Read(pid) is { } stat && PartOf(pid, stat) is { } part)
            {
                // The postmaster's reaped-children time holds the backends that exited during the run.
                seconds[part] += (stat.OwnTicks + (pid == _postmaster ? stat.ReapedChildTicks : 0)) / TicksPerSecond;
            }
        }

        return new CpuSample(DateTime.UtcNow, seconds);
    }

    private string? PartOf(int pid, Stat stat) => pid switch
    {
        _ when _services.TryGetValue(pid, out var service) => service,
        _ when pid == Environment.ProcessId => LoadGenerator,
        _ when _postmaster is { } postmaster && (pid == postmaster || stat.ParentPid == postmaster) => PostgreSql,
        _ when ErlangProcesses.Contains(stat.Command) && PidNamespace(pid) == _namespace => RabbitMq,
        _ => null,
    };

    private static string? PidNamespace(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The fields of <c>/proc/[pid]/stat</c> used here (proc(5)); null when the process is gone.</summary>
    private sealed record Stat(string Command, int ParentPid, long OwnTicks, long ReapedChildTicks)
    {
        public static Stat? Read(int pid)
        {
            string text;
            try
            {
                text = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            // The command is in parentheses and may itself hold spaces and parentheses: split after the last ')'.
            var open = text.IndexOf('(', StringComparison.Ordinal);
            var close = text.LastIndexOf(')');
            var fields = text[(close + 2)..].Split(' ');
            long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
            return new Stat(text[(open + 1)..close], (int)Field(4), Field(14) + Field(15), Field(16) + Field(17));
        }
    }
}

/// <summary>CPU seconds each part had used by <see cref="At"/>.</summary>
internal sealed record CpuSample(DateTime At, IReadOnlyDictionary<string, double> Seconds)
{
    /// <summary>What each part used between <paramref name="start"/> and this sample.</summary>
    public CpuUsage Since(CpuSample start) => new(At - start.At,
        Seconds.Select(part => (part.Key, part.Value - start.Seconds.GetValueOrDefault(part.Key))).ToList());
}

/// <summary>CPU seconds each part used over a window.</summary>
internal sealed record CpuUsage(TimeSpan Window, IReadOnlyList<(string Part, double Seconds)> Parts)
{
    /// <summary>The parts the performance targets are set for (SPEC §10): Api, Dispatchers, PostgreSQL, RabbitMQ.</summary>
    public double CoreSeconds => Parts.Where(part => IsCore(part.Part)).Sum(part => part.Seconds);

    public static bool IsCore(string part) =>
        part is "api" or SystemProcesses.PostgreSql or SystemProcesses.RabbitMq || part.StartsWith("dispatcher", StringComparison.Ordinal);
}
