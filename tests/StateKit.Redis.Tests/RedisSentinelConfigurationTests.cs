using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;

namespace StateKit.Redis.Tests;

/// <summary>
/// A sentinel configuration (<c>serviceName=...</c>) is checked at start-up with the other options, so a malformed one is
/// reported by the host rather than by the first request that tries to connect.
/// </summary>
public sealed class RedisSentinelConfigurationTests
{
    [Theory]
    [InlineData("127.0.0.1:26379,serviceName=mymaster")]
    [InlineData("s1:26379,s2:26379,s3:26379,serviceName=mymaster,abortConnect=false,connectTimeout=1000")]
    [InlineData("s1,s2,serviceName=mymaster")]
    public void Options_WellFormedSentinelConfiguration_IsValid(string configuration)
    {
        var options = new RedisSessionStoreOptions { Configuration = configuration };

        Assert.Empty(options.GetValidationErrors());
    }

    [Theory]
    [InlineData("serviceName=mymaster", "no sentinel")]
    [InlineData("abortConnect=false", "no endpoint")]
    [InlineData("s1:26379,serviceName=mymaster,proxy=twemproxy", "proxy")]
    [InlineData("s1:26379,serviceName= ", "empty serviceName")]
    public void Options_MalformedConfiguration_FailsWithHowToFixIt(string configuration, string reason)
    {
        var options = new RedisSessionStoreOptions { Configuration = configuration };

        var error = Assert.Single(options.GetValidationErrors());

        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Contains("Configuration", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UseRedis_SentinelConfigurationWithoutSentinels_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis("serviceName=mymaster,abortConnect=false"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisSessionStoreOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("sentinel1:26379", StringComparison.Ordinal));
    }
}
