using System;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>Fails start-up when the Redis store has neither a multiplexer in DI nor a configuration string.</summary>
internal sealed class RedisConnectionValidator(IServiceProvider services) : IValidateOptions<RedisSessionStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisSessionStoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Configuration) && services.GetService(typeof(IConnectionMultiplexer)) is null)
        {
            return ValidateOptionsResult.Fail(
                "UseRedis needs a connection: pass a configuration string (kit.UseRedis(\"localhost:6379\")), set RedisSessionStoreOptions.Configuration, or register an IConnectionMultiplexer.");
        }

        return ValidateOptionsResult.Success;
    }
}
