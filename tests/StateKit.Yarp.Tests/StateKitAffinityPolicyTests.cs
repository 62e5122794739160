using System;
using System.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.Sticky;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace StateKit.Yarp.Tests;

/// <summary>The policy alone, on YARP's own model types: how a drained node's header changes routing, on a fake clock.</summary>
public sealed class StateKitAffinityPolicyTests
{
    private static readonly SessionAffinityConfig Config = new() { Enabled = true, Policy = StateKitAffinityOptions.PolicyName, AffinityKeyName = "statekit" };
    private readonly FakeTimeProvider _time = new();
    private readonly ClusterState _cluster = new("app");
    private readonly DestinationState[] _nodes = [new("n1"), new("n2"), new("n3")];
    private readonly StateKitAffinityPolicy _policy;

    public StateKitAffinityPolicyTests()
    {
        var options = new StateKitAffinityOptions { DrainingHoldTime = TimeSpan.FromSeconds(30) };
        options.Keys.Add(LoopbackCluster.Key);
        _policy = new StateKitAffinityPolicy(new StaticOptions(options), NullLogger<StateKitAffinityPolicy>.Instance, _time);
    }

    [Fact]
    public void DrainedHeader_OnANodesAnswer_IsRemovedAndItsUsersAndNewSessionsGoToTheOthers()
    {
        var answer = new DefaultHttpContext();
        answer.Response.Headers[StickySessionStore.DrainingHeaderName] = "n1";

        _policy.AffinitizeResponse(answer, _cluster, Config, _nodes[0]);
        var pinned = Find(Ticket("n1"));
        var unpinned = Find(null);

        Assert.False(answer.Response.Headers.ContainsKey(StickySessionStore.DrainingHeaderName));
        Assert.Equal(AffinityStatus.OK, pinned.Status);
        Assert.Equal(["n2", "n3"], pinned.Destinations!.Select(d => d.DestinationId));
        Assert.Equal(AffinityStatus.OK, unpinned.Status);
        Assert.Equal(["n2", "n3"], unpinned.Destinations!.Select(d => d.DestinationId));
        Assert.Equal("n2", Assert.Single(Find(Ticket("n2")).Destinations!).DestinationId);
    }

    [Fact]
    public void DrainedNode_AfterTheHoldTime_GetsARequestAgain()
    {
        var answer = new DefaultHttpContext();
        answer.Response.Headers[StickySessionStore.DrainingHeaderName] = "n1";
        _policy.AffinitizeResponse(answer, _cluster, Config, _nodes[0]);

        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal("n1", Assert.Single(Find(Ticket("n1")).Destinations!).DestinationId);
        Assert.Equal(AffinityStatus.AffinityKeyNotSet, Find(null).Status);
    }

    [Fact]
    public void DrainedNode_AnsweringWithoutTheHeader_IsBackInRotationAtOnce()
    {
        var drained = new DefaultHttpContext();
        drained.Response.Headers[StickySessionStore.DrainingHeaderName] = "n1";
        _policy.AffinitizeResponse(drained, _cluster, Config, _nodes[0]);

        _policy.AffinitizeResponse(new DefaultHttpContext(), _cluster, Config, _nodes[0]);

        Assert.Equal("n1", Assert.Single(Find(Ticket("n1")).Destinations!).DestinationId);
    }

    [Fact]
    public void EveryNodeDrained_UsersStayWhereTheyAre()
    {
        foreach (var node in _nodes)
        {
            var answer = new DefaultHttpContext();
            answer.Response.Headers[StickySessionStore.DrainingHeaderName] = node.DestinationId;
            _policy.AffinitizeResponse(answer, _cluster, Config, node);
        }

        // A drained node still answers, through the backup: better than no node at all.
        Assert.Equal("n1", Assert.Single(Find(Ticket("n1")).Destinations!).DestinationId);
        Assert.Equal(AffinityStatus.AffinityKeyNotSet, Find(null).Status);
    }

    private AffinityResult Find(string? ticket)
    {
        var request = new DefaultHttpContext();
        if (ticket is not null)
        {
            request.Request.Headers.Cookie = "statekit=" + ticket;
        }

        return _policy.FindAffinitizedDestinations(request, _cluster, Config, _nodes);
    }

    // Signed as a node signs (docs/sticky.md, the ticket byte by byte), with the cluster's key.
    private static string Ticket(string node)
    {
        var body = $"s1.k1.{node}.AAAAAAAAAAAAAAAAAAAAAA.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        return body + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.HMACSHA256.HashData(LoopbackCluster.Key.Secret, System.Text.Encoding.ASCII.GetBytes(body)));
    }

    private sealed class StaticOptions(StateKitAffinityOptions value) : IOptionsMonitor<StateKitAffinityOptions>
    {
        public StateKitAffinityOptions CurrentValue => value;

        public StateKitAffinityOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<StateKitAffinityOptions, string?> listener) => null;
    }
}
