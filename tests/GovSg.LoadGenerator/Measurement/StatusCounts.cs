namespace GovSg.LoadGenerator.Measurement;

/// <summary>Answers by HTTP status code; <see cref="NoResponse"/> counts timeouts and connection failures.</summary>
internal sealed class StatusCounts
{
    public const int NoResponse = 0;

    private const int Codes = 600;

    private readonly long[] _counts = new long[Codes];

    public long this[int status] => Interlocked.Read(ref _counts[status]);

    public void Add(int status) => Interlocked.Increment(ref _counts[status is > 0 and < Codes ? status : NoResponse]);

    /// <summary>Every status other than the expected one that was seen, in code order.</summary>
    public IEnumerable<(int Status, long Count)> Except(int expected)
    {
        for (var status = 0; status < Codes; status++)
        {
            var count = this[status];
            if (status != expected && count > 0)
            {
                yield return (status, count);
            }
        }
    }
}
