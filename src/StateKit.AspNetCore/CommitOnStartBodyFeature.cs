using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http.Features;

namespace StateKit.AspNetCore;

/// <summary>
/// The response body of a request that touched its session: a pass-through over the server's own body whose first
/// start (a write, a flush, <c>StartAsync</c>, a sent file, or completing the body) first commits the sessions. So the
/// state is saved before any byte leaves, and the body is never buffered.
/// </summary>
/// <remarks>
/// <c>Response.OnStarting</c> alone cannot do this: a callback that throws becomes the server's 500, while here nothing
/// has reached the server yet, so a failed commit throws <see cref="StateKitCommitFailedException"/> into the handler's
/// write and the middleware can still answer with the configured failure response. Bytes written with
/// <c>GetMemory</c>/<c>Advance</c> before the first flush stay here and are handed over only once the commit is done, so
/// the server sees no write before it, whatever its own <c>GetMemory</c> does before a response has started.
/// </remarks>
internal sealed class CommitOnStartBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly Func<Task> _commit;
    private PendingBodyBuffer? _pending;
    private bool _started;

    public CommitOnStartBodyFeature(IHttpResponseBodyFeature inner, Func<Task> commit)
    {
        _inner = inner;
        _commit = commit;
        Stream = new CommitOnStartStream(this);
        Writer = new CommitOnStartPipeWriter(this);
    }

    public IHttpResponseBodyFeature Inner => _inner;

    /// <summary>Gets a value indicating whether the handler wrote through <see cref="Writer"/> (bytes may wait unflushed in the server's writer).</summary>
    public bool WriterUsed { get; private set; }

    public Stream Stream { get; }

    public PipeWriter Writer { get; }

    public void DisableBuffering() => _inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync().ConfigureAwait(false);
        await _inner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync().ConfigureAwait(false);
        await _inner.SendFileAsync(path, offset, count, cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteAsync()
    {
        await EnsureStartedAsync().ConfigureAwait(false);
        await _inner.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Commits (once; a failure throws again on every later attempt), then hands over what <c>GetMemory</c>/<c>Advance</c>
    /// left here. The middleware calls it at the end of the handler too, so unflushed bytes are never dropped.
    /// </summary>
    public async Task EnsureStartedAsync()
    {
        if (_started)
        {
            return;
        }

        try
        {
            await _commit().ConfigureAwait(false);
        }
        catch
        {
            // Nothing of this body will be sent: the failure response replaces it.
            Discard();
            throw;
        }

        _started = true;
        if (_pending is { } pending)
        {
            _pending = null;
            await pending.MoveToAsync(_inner.Writer).ConfigureAwait(false);
        }
    }

    /// <summary>Returns what <c>GetMemory</c>/<c>Advance</c> left here to the pool, unsent (the handler threw).</summary>
    public void Discard()
    {
        _pending?.Release();
        _pending = null;
    }

    private sealed class CommitOnStartStream(CommitOnStartBodyFeature owner) : Stream
    {
        private Stream Inner => owner._inner.Stream;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
            // Synchronous I/O: the server decides whether it is allowed; the commit blocks as the write would.
            owner.EnsureStartedAsync().GetAwaiter().GetResult();
            Inner.Flush();
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            await owner.EnsureStartedAsync().ConfigureAwait(false);
            await Inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            owner.EnsureStartedAsync().GetAwaiter().GetResult();
            Inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.EnsureStartedAsync().GetAwaiter().GetResult();
            Inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await owner.EnsureStartedAsync().ConfigureAwait(false);
            await Inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class CommitOnStartPipeWriter(CommitOnStartBodyFeature owner) : PipeWriter
    {
        private PipeWriter Inner => owner._inner.Writer;

        public override bool CanGetUnflushedBytes => owner._started ? Inner.CanGetUnflushedBytes : true;

        public override long UnflushedBytes => owner._started ? Inner.UnflushedBytes : owner._pending?.Count ?? 0;

        public override void Advance(int bytes)
        {
            owner.WriterUsed = true;
            if (owner._started)
            {
                Inner.Advance(bytes);
                return;
            }

            (owner._pending ??= new()).Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            owner.WriterUsed = true;
            return owner._started ? Inner.GetMemory(sizeHint) : (owner._pending ??= new()).GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            owner.WriterUsed = true;
            return owner._started ? Inner.GetSpan(sizeHint) : (owner._pending ??= new()).GetSpan(sizeHint);
        }

        public override void CancelPendingFlush() => Inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            if (exception is null)
            {
                owner.EnsureStartedAsync().GetAwaiter().GetResult();
            }

            Inner.Complete(exception);
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            if (exception is null)
            {
                await owner.EnsureStartedAsync().ConfigureAwait(false);
            }

            await Inner.CompleteAsync(exception).ConfigureAwait(false);
        }

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            await owner.EnsureStartedAsync().ConfigureAwait(false);
            return await Inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override async ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            owner.WriterUsed = true;
            await owner.EnsureStartedAsync().ConfigureAwait(false);
            return await Inner.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        }
    }
}
