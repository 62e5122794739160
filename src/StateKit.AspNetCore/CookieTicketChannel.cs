using System;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace StateKit.AspNetCore;

/// <summary>
/// Tickets in HttpOnly cookies. Large tickets are split by ASP.NET Core's own <see cref="ChunkingCookieManager"/>
/// (the same chunk format cookie authentication uses) rather than by a second implementation of ours.
/// </summary>
internal sealed class CookieTicketChannel : ITicketChannel
{
    private const string HostPrefix = "__Host-";

    private readonly StateKitHttpOptions _options;
    private readonly ChunkingCookieManager _cookies;
    private readonly CookieSecurePolicy _securePolicy;

    public CookieTicketChannel(StateKitHttpOptions options, IHostEnvironment? environment)
    {
        _options = options;
        _cookies = new ChunkingCookieManager { ChunkSize = options.CookieChunkSize, ThrowForPartialCookies = false };
        _securePolicy = options.CookieSecurePolicy
            ?? (environment?.IsDevelopment() == true ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always);
    }

    // Only what a browser accepts with the prefix: Secure, no Domain, Path=/. Anything else would be dropped by the browser.
    private bool CanUseHostPrefix => _options.CookieHostPrefix && _options.CookieDomain is null && _options.CookiePath == "/";

    public string? Read(HttpContext context, string storeName) => _cookies.GetRequestCookie(context, CookieName(context, storeName));

    public void Write(HttpContext context, string storeName, string ticket, DateTimeOffset? expires)
        => _cookies.AppendResponseCookie(context, CookieName(context, storeName), ticket, Options(context, expires));

    public void Delete(HttpContext context, string storeName)
        => _cookies.DeleteCookie(context, CookieName(context, storeName), Options(context, null));

    /// <summary>
    /// The name follows the request: a Secure cookie is <c>__Host-</c> prefixed, and only that name is read, so a plain
    /// cookie planted for the parent domain by a sibling subdomain is never taken for the ticket.
    /// </summary>
    private string CookieName(HttpContext context, string storeName)
    {
        var name = storeName.Length == 0 ? _options.CookieName : _options.CookieName + "." + storeName;
        return CanUseHostPrefix && IsSecure(context) && !name.StartsWith("__", StringComparison.Ordinal) ? HostPrefix + name : name;
    }

    private bool IsSecure(HttpContext context)
        => _securePolicy == CookieSecurePolicy.Always || (_securePolicy == CookieSecurePolicy.SameAsRequest && context.Request.IsHttps);

    private CookieOptions Options(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        Secure = IsSecure(context),
        SameSite = _options.CookieSameSite,
        Path = _options.CookiePath,
        Domain = _options.CookieDomain,
        Expires = expires,
        IsEssential = true,
    };
}
