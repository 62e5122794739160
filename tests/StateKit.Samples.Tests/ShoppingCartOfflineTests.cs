using System.Collections.Generic;
using System.Threading.Tasks;
using OpenQA.Selenium;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Samples.Tests;

/// <summary>
/// The ShoppingCart sample's cart offline, in headless Chromium: changes made without a connection show at once, wait in
/// IndexedDB, and merge with what another device did to the same cart meanwhile when the connection returns.
/// </summary>
public sealed class ShoppingCartOfflineTests(ITestOutputHelper output)
{
    [BrowserTheory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task CartChangedOffline_AndOnAnotherDevice_MergesOnReconnect_QuantitiesAddUp(string store)
    {
        var port = Repository.FreePort();
        var arguments = new List<string> { "--store", store };
        await using var redis = store == "redis" ? await TestServer.StartStandaloneAsync() : null;
        if (redis is not null)
        {
            arguments.Add("--ConnectionStrings:redis=" + redis.Endpoint + ",abortConnect=false");
        }

        using var phone = new Browser();
        using var laptop = new Browser();
        await using var app = await Repository.StartSampleAsync("ShoppingCart", port, arguments);
        try
        {
            phone.Driver.Navigate().GoToUrl(app.BaseAddress);
            phone.WaitForText("strategy-name", store);
            phone.WaitForText("sync-pending", "All changes synced");
            phone.Click("add-tea");
            phone.WaitForText("cart-count", "1");
            phone.WaitForText("sync-pending", "All changes synced");

            // Offline: each click shows at once and waits.
            phone.GoOffline();
            phone.Click("add-tea");
            phone.Click("add-tea");
            phone.Click("add-mug");
            phone.WaitForText("cart-count", "4");
            phone.WaitForText("sync-pending", "3 changes waiting to sync");
            phone.WaitForText("sync-connection", "offline");
            output.WriteLine("screenshot: " + phone.Screenshot($"shoppingcart-offline-{store}-waiting"));

            // Meanwhile a second browser, with its own profile and the same session cookie, changes the same cart online.
            var ticket = phone.Driver.Manage().Cookies.GetCookieNamed("statekit") ?? throw new Xunit.Sdk.XunitException("The phone has no session cookie.");
            laptop.Driver.Navigate().GoToUrl(app.BaseAddress);
            laptop.Driver.Manage().Cookies.AddCookie(new Cookie(ticket.Name, ticket.Value, ticket.Path));
            laptop.Driver.Navigate().Refresh();
            laptop.WaitForText("cart-count", "1");
            laptop.Click("add-tea");
            laptop.Click("add-tea");
            laptop.WaitForText("cart-count", "3");
            laptop.WaitForText("sync-pending", "All changes synced");

            // Back online: the phone's three changes and the laptop's two all count.
            phone.GoOnline();
            phone.WaitForText("sync-pending", "All changes synced");
            phone.WaitForText("cart-count", "6");
            Assert.Equal("5", phone.Driver.FindElement(By.CssSelector("#cart tr[data-sku='tea'] .qty")).Text);
            Assert.Equal("1", phone.Driver.FindElement(By.CssSelector("#cart tr[data-sku='mug'] .qty")).Text);
            Assert.Equal("online", phone.Text("sync-connection"));
            Assert.StartsWith("last sync ", phone.Text("sync-last"), System.StringComparison.Ordinal);
            Assert.Equal(string.Empty, phone.Text("sync-conflicts"));
            output.WriteLine("screenshot: " + phone.Screenshot($"shoppingcart-offline-{store}-merged"));

            // The server holds the merged cart: the laptop sees it on its next load, and so does the server's own view.
            laptop.Driver.Navigate().Refresh();
            laptop.WaitForText("cart-count", "6");
        }
        catch
        {
            output.WriteLine(app.Output);
            throw;
        }
    }
}
