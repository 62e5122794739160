using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace StateKit.Samples.Tests;

/// <summary>
/// Issue 19: the ShoppingCart sample's sign-in (cookie authentication over StateKit's ticket store), over real HTTP against
/// the sample as a process: sign in, sign out, and "sign out everywhere" from a second browser.
/// </summary>
public sealed class ShoppingCartAccountTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("clientside")]
    public async Task SignIn_SignOutEverywhereFromASecondBrowser_ThenSignInAndOut(string store)
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", store]);
        using var laptop = new Visitor(app.BaseAddress);
        using var phone = new Visitor(app.BaseAddress);
        using var other = new Visitor(app.BaseAddress);

        Assert.Contains("Not signed in.", await laptop.GetAsync("/account"), StringComparison.Ordinal);
        await laptop.SignInAsync("Ana");
        await phone.SignInAsync("ana");
        await other.SignInAsync("Bob");
        Assert.Equal("Ana", await laptop.GetAsync("/api/me"));
        Assert.Contains("Signed in as <strong id=\"user\">ana</strong>", await phone.GetAsync("/account"), StringComparison.Ordinal);

        await phone.PostAsync("/account/signout-everywhere");

        Assert.Equal("(anonymous)", await laptop.GetAsync("/api/me"));
        Assert.Equal("(anonymous)", await phone.GetAsync("/api/me"));
        Assert.Equal("Bob", await other.GetAsync("/api/me"));

        await laptop.SignInAsync("Ana");
        Assert.Equal("Ana", await laptop.GetAsync("/api/me"));
        await laptop.PostAsync("/account/signout");
        Assert.Equal("(anonymous)", await laptop.GetAsync("/api/me"));
    }

    [Fact]
    public async Task SignIn_EscapesTheName_OnTheAccountPage()
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", "memory"]);
        using var visitor = new Visitor(app.BaseAddress);

        await visitor.SignInAsync("<script>x</script>");

        var page = await visitor.GetAsync("/account");
        Assert.DoesNotContain("<script>x", page, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", page, StringComparison.Ordinal);
    }

    [BrowserTheory]
    [InlineData("memory")]
    public async Task SignInAndOut_InHeadlessChromium(string store)
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", store]);
        using var browser = new Browser();

        browser.Driver.Navigate().GoToUrl(new Uri(app.BaseAddress, "/account"));
        browser.WaitForText("user", "Not signed in.");
        browser.Driver.FindElement(OpenQA.Selenium.By.Id("name")).SendKeys("Ana");
        browser.Click("signin");
        browser.WaitForText("user", "Ana");

        // The cookie holds a key, not the ticket: small, HttpOnly, and a reload stays signed in.
        var cookie = browser.Driver.Manage().Cookies.GetCookieNamed(".AspNetCore.Cookies") ?? throw new InvalidOperationException("no auth cookie");
        Assert.True(cookie.IsHttpOnly);
        Assert.True(cookie.Value.Length < 600, $"a cookie of {cookie.Value.Length} characters");
        browser.Driver.Navigate().Refresh();
        browser.WaitForText("user", "Ana");
        browser.Screenshot("account-signed-in-" + store);

        browser.Click("signout");
        browser.WaitForText("user", "Not signed in.");
    }

    /// <summary>One browser: its own cookies, redirects not followed so that each step's answer is seen.</summary>
    private sealed class Visitor(Uri baseAddress) : IDisposable
    {
        private readonly HttpClient _http = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(20),
        };

        public async Task SignInAsync(string name)
        {
            using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("name", name)]);
            using var response = await _http.PostAsync("/account/signin", form);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        public async Task PostAsync(string path)
        {
            using var response = await _http.PostAsync(path, null);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        public async Task<string> GetAsync(string path)
        {
            using var response = await _http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }

        public void Dispose() => _http.Dispose();
    }
}
