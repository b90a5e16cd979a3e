using GovSg.Api.Http;

namespace GovSg.Tests.Unit;

/// <summary>Framework refusals that arrive as bare status codes keep SPEC §3.1's pairs of code and status.</summary>
public sealed class ApiErrorTests
{
    private static readonly Dictionary<string, int> StatusOfCode = new()
    {
        ["api_validation"] = 400,
        ["invalid_recipient"] = 400,
        ["malformed"] = 400,
        ["unauthenticated"] = 401,
        ["unauthorized"] = 403,
        ["not_found"] = 404,
        ["method_not_allowed"] = 405,
        ["payload_too_large"] = 413,
        ["unsupported_media_type"] = 415,
        ["idempotency_mismatch"] = 422,
        ["rate_limit"] = 429,
        ["internal_server"] = 500,
        ["service_unavailable"] = 503,
    };

    [Test]
    public void ForStatus_AnyErrorStatus_GivesACodeWithTheStatusTheSpecPairsItWith()
    {
        for (var status = 400; status < 600; status++)
        {
            var error = ApiError.ForStatus(status);

            Assert.That(StatusOfCode, Does.ContainKey(error.Body.Code), $"status {status}");
            if (error.Body.Code != "internal_server")
            {
                Assert.That(error.StatusCode, Is.EqualTo(StatusOfCode[error.Body.Code]), $"status {status} became {error.Body.Code}");
            }
        }
    }

    [Test]
    public void ForStatus_ABodyThatStoppedArriving_Is400ApiValidation()
    {
        var error = ApiError.ForStatus(408);

        Assert.That((error.StatusCode, error.Body.Code), Is.EqualTo((400, "api_validation")));
        Assert.That(error.Body.Message, Is.EqualTo("The request body did not arrive in time"));
    }
}
