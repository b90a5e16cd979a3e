using System.Net.Http.Headers;
using GovSg.LoadGenerator.Measurement;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// One <c>POST /v1/transactional/govsg/send</c>, or one <c>/batch</c> of several messages; the answer is read in full
/// before the status is returned.
/// </summary>
internal sealed class SendClient(HttpClient http)
{
    private const string SendPath = "v1/transactional/govsg/send";
    private const string BatchPath = "v1/transactional/govsg/batch";

    public async Task<int> SendAsync(int batchSize, BenchUser user, Recipients recipients, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, batchSize > 1 ? BatchPath : SendPath);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.ApiKey);
        request.Content = new ByteArrayContent(batchSize > 1
            ? OfficerCall.BatchBody([.. Enumerable.Range(0, batchSize).Select(_ => recipients.Next())])
            : OfficerCall.SendBody(recipients.Next()));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return (int)response.StatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException
                                              || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return StatusCounts.NoResponse;
        }
    }

    /// <summary>One client for the run: connections are reused, and every request gives up after <paramref name="timeout"/>.</summary>
    public static HttpClient CreateHttpClient(Uri api, TimeSpan timeout) =>
        new(new SocketsHttpHandler { ConnectTimeout = timeout }) { BaseAddress = api, Timeout = timeout };
}
