using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Chromium;

namespace StateKit.Samples.Tests;

/// <summary>Headless Chromium from Debian's packages, driven by the system chromedriver. Never downloads anything.</summary>
internal sealed class Browser : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverDirectory = "/usr/bin";
    public const string DriverName = "chromedriver";

    private readonly string _profile = Path.Combine(Path.GetTempPath(), "statekit-chromium-" + Guid.NewGuid().ToString("N"));

    public Browser()
    {
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic", "--window-size=1200,900", "--user-data-dir=" + _profile);
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public ChromeDriver Driver { get; }

    public static bool IsInstalled => File.Exists(ChromiumPath) && File.Exists(Path.Combine(DriverDirectory, DriverName));

    public string Text(string id) => Driver.FindElement(By.Id(id)).Text;

    public void Click(string id) => Driver.FindElement(By.Id(id)).Click();

    /// <summary>Polls the page until the element's text is <paramref name="expected"/>, or fails saying what it saw.</summary>
    public void WaitForText(string id, string expected, TimeSpan? timeout = null) =>
        WaitFor(() => Text(id), expected, timeout, seen => $"#{id} showed '{seen}', not '{expected}'.");

    /// <summary>Polls until the page shows <paramref name="expected"/> as its theme (the body's class).</summary>
    public void WaitForTheme(string expected, TimeSpan? timeout = null) =>
        WaitFor(() => Driver.FindElement(By.TagName("body")).GetDomAttribute("class") ?? string.Empty, expected, timeout, seen => $"The page's theme was '{seen}', not '{expected}'.");

    // The page changes from script after a click and the browser raises no event the test can await, so it polls the DOM
    // as Selenium's own WebDriverWait does. The bound is only reached when the page is wrong: a slow machine costs time,
    // not a failure.
    private static void WaitFor(Func<string> read, string expected, TimeSpan? timeout, Func<string, string> failure)
    {
        var clock = Stopwatch.StartNew();
        var seen = string.Empty;
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(15)))
        {
            try
            {
                seen = read();
                if (seen == expected)
                {
                    return;
                }
            }
            catch (NoSuchElementException)
            {
            }
            catch (StaleElementReferenceException)
            {
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException(failure(seen));
    }

    /// <summary>
    /// Cuts the page off the network through DevTools network emulation (what the DevTools "Offline" switch does): every
    /// request fails at once and the page's <c>navigator.onLine</c> turns false; the server keeps running.
    /// </summary>
    public void GoOffline() => Driver.NetworkConditions = new ChromiumNetworkConditions { IsOffline = true };

    /// <summary>Ends <see cref="GoOffline"/>: the page's requests reach the server again and it sees an <c>online</c> event.</summary>
    public void GoOnline() => Driver.ClearNetworkConditions();

    public string Screenshot(string name)
    {
        var path = Path.Combine(Repository.ArtifactsDirectory, name + ".png");
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
