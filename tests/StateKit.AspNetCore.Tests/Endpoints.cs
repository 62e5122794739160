using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The endpoints every integration test app maps.</summary>
internal static class Endpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/none", () => "untouched");
        app.MapGet("/get/{key}", async (string key, StateSession session) =>
            await session.GetAsync(key, ContractJsonContext.Default.String) ?? "(none)");
        app.MapPost("/set/{key}/{value}", (string key, string value, StateSession session) =>
        {
            session.Set(key, value, ContractJsonContext.Default.String);
            return "ok";
        });
        app.MapPost("/rotate", (StateSession session) =>
        {
            session.RotateId();
            return "rotated";
        });
        app.MapPost("/revoke", (StateSession session) =>
        {
            session.Revoke();
            return "revoked";
        });
        app.MapPost("/throw", (StateSession session) =>
        {
            session.Set("poison", "x", ContractJsonContext.Default.String);
            throw new InvalidOperationException("handler failed");
        });
        app.MapGet("/named/{store}/{key}", async (string store, string key, HttpContext context) =>
            await context.GetStateSession(store).GetAsync(key, ContractJsonContext.Default.String) ?? "(none)");
        app.MapPost("/named/{store}/{key}/{value}", (string store, string key, string value, HttpContext context) =>
        {
            context.GetStateSession(store).Set(key, value, ContractJsonContext.Default.String);
            return "ok";
        });
        app.MapGet("/legacy/{key}", async (string key, HttpContext context) =>
        {
            await context.Session.LoadAsync();
            return context.Session.GetString(key) ?? "(none)";
        });
        app.MapPost("/legacy/{key}/{value}", (string key, string value, HttpContext context) =>
        {
            context.Session.SetString(key, value);
            return "ok";
        });
        app.MapPost("/legacy-incr", async (HttpContext context) =>
        {
            await context.Session.LoadAsync();
            var next = (context.Session.GetInt32("count") ?? 0) + 1;
            context.Session.SetInt32("count", next);
            return next;
        });
        app.MapGet("/health", (HttpContext context) =>
        {
            try
            {
                context.GetStateSession();
                return "session!";
            }
            catch (InvalidOperationException)
            {
                return "no session";
            }
        }).DisableStateKit();
    }
}
