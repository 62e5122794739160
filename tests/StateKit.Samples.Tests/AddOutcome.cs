using System;

namespace StateKit.Samples.Tests;

/// <summary>One <c>POST /api/cart/tea</c> as a shopper saw it: when, how long, and what came back.</summary>
/// <param name="Shopper">The shopper's index.</param>
/// <param name="Started">When the request was sent, on the test's clock.</param>
/// <param name="Finished">When its response (or its failure) arrived.</param>
/// <param name="Status">The HTTP status, or 0 when no response came (the client gave up or the connection broke).</param>
/// <param name="ContentType">The response's media type, e.g. <c>application/problem+json</c>.</param>
/// <param name="Error">What went wrong without a response, else <see langword="null"/>.</param>
internal sealed record AddOutcome(int Shopper, TimeSpan Started, TimeSpan Finished, int Status, string? ContentType, string? Error)
{
    public TimeSpan Duration => Finished - Started;

    public bool Succeeded => Status is >= 200 and < 300;

    /// <summary>Gets whether this is the failure the issue allows: a 503 with a problem-details body.</summary>
    public bool IsProblem503 => Status == 503 && ContentType == "application/problem+json";
}
