using System.Buffers;
using System.IO.Pipelines;

namespace GovSg.Api.Http;

public static class RequestBody
{
    /// <summary>
    /// Ends the body's read in progress once <paramref name="deadline"/> passes, the way pipes do (<see cref="ReadAsync"/>
    /// sees a cancelled read and refuses the body as late), so the server can still drain or close the connection: a
    /// read abandoned through its token would leave the body reader mid-read. For a route whose request holds something
    /// others need (a batch slot, a webhook body's buffer) while its body arrives; disposed, it ends.
    /// </summary>
    public static IDisposable Deadline(HttpRequest request, TimeSpan deadline)
    {
        var timer = new CancellationTokenSource(deadline);
        timer.Token.Register(static reader => ((PipeReader)reader!).CancelPendingRead(), request.BodyReader);
        return timer;
    }

    /// <summary>
    /// Reads the whole body, refusing (413) as soon as it passes <paramref name="limit"/> bytes, and refusing as a body
    /// that did not arrive in time when a read is cancelled (<see cref="PipeReader.CancelPendingRead"/>: a deadline).
    /// </summary>
    public static async Task<(byte[]? Body, ApiError? Error)> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return (null, ApiError.PayloadTooLarge(limit));
        }

        PipeReader reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return (null, ApiError.BodyTimedOut());
            }

            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return (null, ApiError.PayloadTooLarge(limit));
            }

            if (result.IsCompleted)
            {
                var body = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return (body, null);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
