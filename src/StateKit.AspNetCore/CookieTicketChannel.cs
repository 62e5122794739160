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

    public string? Read(HttpContext context, string storeName) => _cookies.GetRequestCookie(context, CookieName(storeName));

    public void Write(HttpContext context, string storeName, string ticket, DateTimeOffset? expires)
        => _cookies.AppendResponseCookie(context, CookieName(storeName), ticket, Options(context, expires));

    public void Delete(HttpContext context, string storeName)
        => _cookies.DeleteCookie(context, CookieName(storeName), Options(context, null));

    private string CookieName(string storeName) => storeName.Length == 0 ? _options.CookieName : _options.CookieName + "." + storeName;

    private CookieOptions Options(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        Secure = _securePolicy == CookieSecurePolicy.Always || (_securePolicy == CookieSecurePolicy.SameAsRequest && context.Request.IsHttps),
        SameSite = _options.CookieSameSite,
        Path = _options.CookiePath,
        Domain = _options.CookieDomain,
        Expires = expires,
        IsEssential = true,
    };
}
