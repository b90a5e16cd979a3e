using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Keeps every log line a host writes, formatted, with the scopes it was written in (as a console logger with
/// IncludeScopes shows them), so a test can look for what must never be logged.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly AsyncLocal<ImmutableStack<object>> _scopes = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            var outer = capture._scopes.Value ?? ImmutableStack<object>.Empty;
            capture._scopes.Value = outer.Push(state);
            return new Scope(() => capture._scopes.Value = outer);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            var scopes = (capture._scopes.Value ?? ImmutableStack<object>.Empty).Reverse().Select(scope => $"{scope} => ");
            capture._lines.Enqueue(string.Concat(scopes) + formatter(state, exception) + (exception is null ? "" : " " + exception));
        }
    }

    private sealed class Scope(Action end) : IDisposable
    {
        public void Dispose() => end();
    }
}
