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
    [InlineData("memory", false, false)]
    [InlineData("sticky", false, false)]
    [InlineData("redis", true, true)]
    [InlineData("distributed", true, true)]
    [InlineData("clientside", true, true)]
    [InlineData("jwt", true, true)]
    [InlineData("tiered", false, true)]
    public async Task Cart_SurvivesReloadAndRestart_AsTheStrategyPromises(string store, bool cartSurvivesRestart, bool themeSurvivesRestart)
    {
        var port = Repository.FreePort();
        var arguments = new List<string> { "--store", store };

        // The app restarts; Redis does not: a server of the test's own (redis-server, or Garnet where it is missing).
        await using var redis = store == "redis" ? await TestServer.StartStandaloneAsync() : null;
        if (redis is not null)
        {
            arguments.Add("--ConnectionStrings:redis=" + redis.Endpoint + ",abortConnect=false");
        }

        // Likewise the SQLite database file: a fresh one of this test's own, kept across the restart.
        var database = Path.Combine(Path.GetTempPath(), $"statekit-shoppingcart-test-{Guid.NewGuid():N}.db");
        if (store == "distributed")
        {
            arguments.Add("--DistributedCache:Path=" + database);
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
            browser.Click("theme-dark");
            browser.WaitForTheme("dark");

            browser.Driver.Navigate().Refresh();
            browser.WaitForText("cart-count", "3");
            browser.WaitForText("checkout-step", "2");
            output.WriteLine("screenshot: " + browser.Screenshot($"shoppingcart-{store}-before-restart"));

            // A real process restart on the same port: what lived only in that process is gone.
            await app.DisposeAsync();
            app = await Repository.StartSampleAsync("ShoppingCart", port, arguments);
            browser.Driver.Navigate().Refresh();
            browser.WaitForText("strategy-name", store);
            browser.WaitForText("cart-count", cartSurvivesRestart ? "3" : "0");
            browser.WaitForText("checkout-step", cartSurvivesRestart ? "2" : "1");
            browser.WaitForTheme(themeSurvivesRestart ? "dark" : "light");
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
            foreach (var file in new[] { database, database + "-wal", database + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
