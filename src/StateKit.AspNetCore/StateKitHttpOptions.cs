using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>How StateKit meets HTTP: the ticket transport and what a failed commit (or a load that found the store down) answers.</summary>
public sealed class StateKitHttpOptions
{
    /// <summary>Gets or sets how tickets travel.</summary>
    /// <value>The default value is <see cref="TicketTransport.Cookie"/>.</value>
    public TicketTransport Transport { get; set; } = TicketTransport.Cookie;

    /// <summary>
    /// Gets or sets the cookie name of the default store; a named store's cookie is this name, a dot, and the store's name.
    /// Sent with the <c>__Host-</c> prefix where <see cref="CookieHostPrefix"/> applies.
    /// </summary>
    /// <value>The default value is <c>statekit</c>: <c>__Host-statekit</c> on the wire over https and in production.</value>
    public string CookieName { get; set; } = "statekit";

    /// <summary>
    /// Gets or sets a value indicating whether the cookie name gets the <c>__Host-</c> prefix whenever the cookie is
    /// <c>Secure</c>, has no <see cref="CookieDomain"/> and its <see cref="CookiePath"/> is <c>/</c>. Browsers accept such a
    /// cookie only from the host itself, over https, so a sibling subdomain cannot plant a ticket (session fixation) or
    /// shadow the real one. A cookie that is not Secure (Development over http) keeps the plain name, which browsers accept.
    /// Turning it off keeps cookies issued under the plain name valid; an app that turns it on signs those users out once.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CookieHostPrefix { get; set; } = true;

    /// <summary>Gets or sets the cookie path.</summary>
    /// <value>The default value is <c>/</c>.</value>
    public string CookiePath { get; set; } = "/";

    /// <summary>Gets or sets the cookie domain, or <see langword="null"/> for the request's host only.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CookieDomain { get; set; }

    /// <summary>Gets or sets when the cookie is marked <c>Secure</c>; <see langword="null"/> means always, except in the Development environment where it follows the request.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public CookieSecurePolicy? CookieSecurePolicy { get; set; }

    /// <summary>Gets or sets the cookie's SameSite mode.</summary>
    /// <value>The default value is <see cref="SameSiteMode.Lax"/>.</value>
    public SameSiteMode CookieSameSite { get; set; } = SameSiteMode.Lax;

    /// <summary>Gets or sets the most characters one cookie carries before a ticket is split across several; <see langword="null"/> turns chunking off.</summary>
    /// <value>The default value is 4050, ASP.NET Core's own chunk size.</value>
    public int? CookieChunkSize { get; set; } = 4050;

    /// <summary>Gets or sets the request (and response) header of the default store's ticket; a named store's header is this name, a dash, and the store's name.</summary>
    /// <value>The default value is <c>StateKit-Ticket</c>.</value>
    public string HeaderName { get; set; } = "StateKit-Ticket";

    /// <summary>
    /// Gets or sets the longest ticket, in characters, the app sends or accepts. A longer outbound ticket fails the request with
    /// <see cref="SessionTicketTooLargeException"/> before anything is sent; a longer inbound one is ignored as no ticket.
    /// </summary>
    /// <value>The default value is 16,384: four cookie chunks.</value>
    public int MaxTicketLength { get; set; } = 16 * 1024;

    /// <summary>
    /// Gets or sets the status code of the response that replaces a request whose session could not be saved, or could not
    /// be loaded inside the handler because the store was unavailable (<see cref="SessionStoreUnavailableException"/>,
    /// including a circuit breaker's rejection), as long as the response has not started.
    /// </summary>
    /// <value>The default value is 503 (Service Unavailable).</value>
    public int CommitFailureStatusCode { get; set; } = StatusCodes.Status503ServiceUnavailable;

    /// <summary>
    /// Gets or sets what writes the response when a commit fails, or when a load inside the handler throws
    /// <see cref="SessionStoreUnavailableException"/>, in place of the default problem details. The handler's own response
    /// has been discarded; the status code is already <see cref="CommitFailureStatusCode"/>. The exception tells the two
    /// apart only by its type and message: a store outage is the same answer either way, "try again shortly".
    /// </summary>
    /// <value>The default value is <see langword="null"/>: a problem details response.</value>
    public Func<HttpContext, Exception, Task>? OnCommitFailure { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether every request that touches a session buffers its whole response body
    /// (in memory up to 32 KB, then in a temp file) and commits after the handler. Off, the sessions are committed when the
    /// response starts (its first write or flush, <c>StartAsync</c>, or the end of the handler), the body streams, and a
    /// session change after that throws <see cref="InvalidOperationException"/>. Turn it on only for apps that must change
    /// session state after writing; one endpoint can opt in with <see cref="BufferStateKitResponseAttribute"/>.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: responses stream.</value>
    public bool BufferResponseBody { get; set; }

    internal IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(CookieName))
        {
            errors.Add("CookieName must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(HeaderName))
        {
            errors.Add("HeaderName must not be empty.");
        }

        if (CookieChunkSize is < 100)
        {
            errors.Add($"CookieChunkSize must be at least 100 characters, or null to turn chunking off (was {CookieChunkSize}).");
        }

        if (MaxTicketLength <= 0)
        {
            errors.Add($"MaxTicketLength must be positive (was {MaxTicketLength}).");
        }

        if (CommitFailureStatusCode is < 400 or > 599)
        {
            errors.Add($"CommitFailureStatusCode must be an error status, 400 to 599 (was {CommitFailureStatusCode}).");
        }

        return errors;
    }
}
