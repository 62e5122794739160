namespace StateKit;

/// <summary>Names to subscribe to StateKit's metrics and traces (OpenTelemetry <c>AddMeter</c> / <c>AddSource</c>).</summary>
public static class StateKitDiagnostics
{
    /// <summary>The name of StateKit's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "StateKit";

    /// <summary>The name of StateKit's <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "StateKit";
}
