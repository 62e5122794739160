using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using OpenQA.Selenium;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Samples.Tests;

/// <summary>
/// Issues 19 and 18: the ShoppingCart sample's sign-in (cookie authentication over StateKit's ticket store), over real HTTP
/// against the sample as a process: sign in, sign out, "sign out everywhere" from a second browser, and the account page's
/// "where you're signed in" listing, which ends one other session and keeps each user to five.
/// </summary>
public sealed class ShoppingCartAccountTests(ITestOutputHelper output)
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
    public async Task AccountPage_NameAndUserAgentCarryingMarkup_AreShownEncoded()
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", "memory"]);
        using var visitor = new Visitor(app.BaseAddress, userAgent: "Evil/1.0 <img src=x onerror=alert(1)>");

        await visitor.SignInAsync("<script>x</script>");

        // The user agent is the client's own input, kept at sign-in and listed on the page.
        var page = await visitor.GetAsync("/account");
        Assert.DoesNotContain("<script>x", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", page, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", page, StringComparison.Ordinal);
        Assert.Contains("Evil/1.0 &lt;img src=x onerror=alert(1)&gt;", page, StringComparison.Ordinal);
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

    [BrowserTheory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task AccountPage_TwoBrowsers_OneSignsOutTheOther_WhichIsSignedOutOnItsNextRequest(string store)
    {
        var arguments = new List<string> { "--store", store };
        await using var redis = store == "redis" ? await TestServer.StartStandaloneAsync() : null;
        if (redis is not null)
        {
            arguments.Add("--ConnectionStrings:redis=" + redis.Endpoint + ",abortConnect=false");
        }

        // Two browser contexts: separate profiles, so separate cookies, as a laptop and a phone.
        using var laptop = new Browser();
        using var phone = new Browser();
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), arguments);
        try
        {
            SignIn(laptop, app.BaseAddress, "Ana");
            SignIn(phone, app.BaseAddress, "ana");
            var phoneId = CurrentSession(phone);

            // The laptop's page lists both sign-ins of the user, its own marked and first, the phone's with a sign-out button.
            laptop.Driver.Navigate().Refresh();
            laptop.WaitForText("session-count", "2 sessions");
            var rows = laptop.Driver.FindElements(By.CssSelector("#sessions tr.session"));
            Assert.Equal(2, rows.Count);
            var laptopId = CurrentSession(laptop);
            Assert.NotEqual(laptopId, phoneId);
            Assert.Equal(laptopId, rows[0].GetDomAttribute("data-public-id"));
            Assert.Equal("This device", rows[0].FindElement(By.ClassName("this-device")).Text);
            Assert.Empty(rows[0].FindElements(By.ClassName("end-session")));
            var phoneRow = Assert.Single(rows, r => r.GetDomAttribute("data-public-id") == phoneId);
            Assert.Contains("HeadlessChrome", phoneRow.FindElement(By.ClassName("device")).Text, StringComparison.Ordinal);
            Assert.Equal("127.0.0.1", phoneRow.FindElement(By.ClassName("address")).Text);
            output.WriteLine("screenshot: " + laptop.Screenshot("account-sessions-two-" + store));

            phoneRow.FindElement(By.ClassName("end-session")).Click();

            laptop.WaitForText("session-count", "1 session");
            Assert.Equal(laptopId, CurrentSession(laptop));
            output.WriteLine("screenshot: " + laptop.Screenshot("account-sessions-one-" + store));

            // The phone's next request carries a cookie whose session is gone: anonymous.
            phone.Driver.Navigate().Refresh();
            phone.WaitForText("user", "Not signed in.");
            laptop.Driver.Navigate().Refresh();
            laptop.WaitForText("user", "Ana");
        }
        catch
        {
            output.WriteLine(app.Output);
            throw;
        }
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tiered")] // the sign-ins in the in-memory "auth" store beside the strategy's
    public async Task AccountPage_PublicIdFromAnotherUsersPage_EndsNothing(string store)
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", store]);
        using var ana = new Visitor(app.BaseAddress);
        using var bob = new Visitor(app.BaseAddress);
        await ana.SignInAsync("Ana");
        await bob.SignInAsync("Bob");
        var anasId = Assert.Single(Sessions(await ana.GetAsync("/account")));

        // Seen on Ana's screen, posted from Bob's signed-in browser: the user is Bob's, from his cookie, so nothing of Ana's ends.
        using (var response = await bob.PostFormAsync("/account/sessions/signout", ("session", anasId)))
        {
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        Assert.Equal("Ana", await ana.GetAsync("/api/me"));
        Assert.Equal("Bob", await bob.GetAsync("/api/me"));
        Assert.Equal([anasId], Sessions(await ana.GetAsync("/account")));
    }

    [Fact]
    public async Task AccountPage_OnAStoreThatCannotList_SaysSo_AndTheSignInWorks()
    {
        // The sample's sticky node has no backup store: its sessions are in this node's memory only, and it cannot list them.
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", "sticky"]);
        using var visitor = new Visitor(app.BaseAddress);

        await visitor.SignInAsync("Ana");

        var page = await visitor.GetAsync("/account");
        Assert.Contains("Signed in as <strong id=\"user\">Ana</strong>", page, StringComparison.Ordinal);
        Assert.Contains("id=\"sessions-unavailable\">The store these sign-ins live in cannot list", page, StringComparison.Ordinal);
        Assert.Empty(Sessions(page));
    }

    [Fact]
    public async Task SixthSignIn_SignsOutTheLeastRecentlyActive()
    {
        await using var app = await Repository.StartSampleAsync("ShoppingCart", Repository.FreePort(), ["--store", "memory"]);
        var devices = Enumerable.Range(0, 6).Select(_ => new Visitor(app.BaseAddress)).ToList();
        try
        {
            foreach (var device in devices.Take(5))
            {
                await device.SignInAsync("Ana");
            }

            // The first device signed in first and has not been back since: it is the least recently active.
            await devices[5].SignInAsync("Ana");

            Assert.Equal("(anonymous)", await devices[0].GetAsync("/api/me"));
            Assert.Contains("<p id=\"session-count\">5 sessions</p>", await devices[5].GetAsync("/account"), StringComparison.Ordinal);
            Assert.Equal("Ana", await devices[1].GetAsync("/api/me"));
        }
        finally
        {
            devices.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task SixthSignIn_UnderRefuseNewSession_IsRefusedSayingTooManySessions_AndSignsNobodyOut()
    {
        await using var app = await Repository.StartSampleAsync(
            "ShoppingCart", Repository.FreePort(), ["--store", "memory", "--ShoppingCart:SessionLimitPolicy", "RefuseNewSession"]);
        var devices = Enumerable.Range(0, 6).Select(_ => new Visitor(app.BaseAddress)).ToList();
        try
        {
            foreach (var device in devices.Take(5))
            {
                await device.SignInAsync("Ana");
            }

            using var refused = await devices[5].PostFormAsync("/account/signin", ("name", "Ana"));

            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            var page = await refused.Content.ReadAsStringAsync();
            Assert.Contains("Too many sessions: Ana is signed in on 5 devices already. Sign out one of them elsewhere", page, StringComparison.Ordinal);
            Assert.Contains("Not signed in.", page, StringComparison.Ordinal);
            Assert.Equal("(anonymous)", await devices[5].GetAsync("/api/me"));
            foreach (var device in devices.Take(5))
            {
                Assert.Equal("Ana", await device.GetAsync("/api/me"));
            }
        }
        finally
        {
            devices.ForEach(d => d.Dispose());
        }
    }

    private static void SignIn(Browser browser, Uri baseAddress, string name)
    {
        browser.Driver.Navigate().GoToUrl(new Uri(baseAddress, "/account"));
        browser.WaitForText("user", "Not signed in.");
        browser.Driver.FindElement(By.Id("name")).SendKeys(name);
        browser.Click("signin");
        browser.WaitForText("user", name);
    }

    /// <summary>The public id of the session the page marks as this browser's own.</summary>
    private static string CurrentSession(Browser browser)
        => browser.Driver.FindElement(By.CssSelector("#sessions tr.session.current")).GetDomAttribute("data-public-id")
           ?? throw new InvalidOperationException("The page marks no session as this device.");

    /// <summary>The public ids an account page lists, in its order.</summary>
    private static List<string> Sessions(string page)
        => Regex.Matches(page, "<tr class=\"session[^\"]*\" data-public-id=\"([0-9a-f]{32})\"").Select(m => m.Groups[1].Value).ToList();

    /// <summary>One browser: its own cookies, redirects not followed so that each step's answer is seen.</summary>
    private sealed class Visitor : IDisposable
    {
        private readonly HttpClient _http;

        public Visitor(Uri baseAddress, string userAgent = "StateKitSampleTests/1.0")
        {
            _http = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
            {
                BaseAddress = baseAddress,
                Timeout = TimeSpan.FromSeconds(20),
            };

            // TryAdd: a User-Agent that is not a valid product token (markup) is sent as given.
            Assert.True(_http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", userAgent));
        }

        public async Task<HttpResponseMessage> PostFormAsync(string path, params (string Name, string Value)[] fields)
        {
            using var form = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
            return await _http.PostAsync(path, form);
        }

        public async Task SignInAsync(string name)
        {
            using var response = await PostFormAsync("/account/signin", ("name", name));
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
