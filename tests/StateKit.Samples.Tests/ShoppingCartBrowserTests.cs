using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Samples.Tests;

/// <summary>The ShoppingCart sample in headless Chromium: a cart that must not empty itself across reloads and restarts.</summary>
public sealed class ShoppingCartBrowserTests(ITestOutputHelper output)
{
    [BrowserTheory]
    [InlineData("memory", false)]
    [InlineData("redis", true)]
    [InlineData("clientside", true)]
    [InlineData("jwt", true)]
    public async Task Cart_SurvivesReloadAndRestart_AsTheStrategyPromises(string store, bool survivesRestart)
    {
        var port = Repository.FreePort();
        var arguments = new List<string> { "--store", store };

        // The app restarts; Redis does not: a server of the test's own (redis-server, or Garnet where it is missing).
        await using var redis = store == "redis" ? await TestServer.StartStandaloneAsync() : null;
        if (redis is not null)
        {
            arguments.Add("--ConnectionStrings:redis=" + redis.Endpoint + ",abortConnect=false");
        }

        using var browser = new Browser();
        var app = await Repository.StartSampleAsync("ShoppingCart", port, arguments);
        try
        {
            browser.Driver.Navigate().GoToUrl(app.BaseAddress);
            browser.WaitForText("strategy-name", store);
            browser.WaitForText("cart-count", "0");

            browser.Click("add-tea");
            browser.WaitForText("cart-count", "1");
            browser.Click("add-tea");
            browser.WaitForText("cart-count", "2");
            browser.Click("add-mug");
            browser.WaitForText("cart-count", "3");
            browser.Driver.FindElement(OpenQA.Selenium.By.Id("checkout-input")).SendKeys("Ana");
            browser.Click("checkout-next");
            browser.WaitForText("checkout-step", "2");

            browser.Driver.Navigate().Refresh();
            browser.WaitForText("cart-count", "3");
            browser.WaitForText("checkout-step", "2");
            output.WriteLine("screenshot: " + browser.Screenshot($"shoppingcart-{store}-before-restart"));

            // A real process restart on the same port: what lived only in that process is gone.
            await app.DisposeAsync();
            app = await Repository.StartSampleAsync("ShoppingCart", port, arguments);
            browser.Driver.Navigate().Refresh();
            browser.WaitForText("strategy-name", store);
            browser.WaitForText("cart-count", survivesRestart ? "3" : "0");
            browser.WaitForText("checkout-step", survivesRestart ? "2" : "1");
            var screenshot = browser.Screenshot($"shoppingcart-{store}-after-restart");
            output.WriteLine("screenshot: " + screenshot);
            Assert.True(new FileInfo(screenshot).Length > 1_000, "the screenshot is empty");
        }
        catch
        {
            output.WriteLine(app.Output);
            throw;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
