using System.Net;
using System.Net.Sockets;

namespace GovSg.Tests.Integration;

/// <summary>
/// A loopback TCP relay in front of a real server (PostgreSQL, RabbitMQ), so one host of the test system can lose it
/// while every other test keeps using the server: <see cref="Cut"/> drops every relayed connection and refuses new
/// ones, as a stopped server would; <see cref="Stall"/> keeps the connections open but passes nothing on, as a server
/// that is shutting down may; <see cref="StallAfter"/> does so once a statement has reached the server, as a server that
/// froze with the answer unsent would; <see cref="Restore"/> accepts again on the same port, as a restarted one would.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _gate = new();
    private readonly List<TcpClient> _connections = [];
    private readonly CancellationTokenSource _stopped = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;
    private TaskCompletionSource _flowing = Flowing();
    private Queue<byte[]> _stallAfter = [];

    private TcpRelay(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    public int Port { get; private set; }

    public static TcpRelay Start(string targetHost, int targetPort)
    {
        var relay = new TcpRelay(targetHost, targetPort);
        relay.Listen(0);
        return relay;
    }

    /// <summary>A relay in front of the PostgreSQL that <paramref name="connectionString"/> names, and the same string through it.</summary>
    public static TcpRelay InFrontOfPostgres(string connectionString, out Npgsql.NpgsqlConnectionStringBuilder relayed)
    {
        relayed = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var relay = Start(relayed.Host!, relayed.Port);
        relayed.Host = "127.0.0.1";
        relayed.Port = relay.Port;
        return relay;
    }

    /// <summary>Holds every byte in both directions until <see cref="Cut"/>.</summary>
    public void Stall()
    {
        lock (_gate)
        {
            _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>
    /// Passes bytes on until a client has sent each of <paramref name="markers"/> in turn (ASCII, each within one read: a
    /// statement's text), passes the last on, and then holds every byte in both directions until <see cref="Cut"/>: the
    /// server runs the statement, and its answer never arrives.
    /// </summary>
    public void StallAfter(params string[] markers)
    {
        lock (_gate)
        {
            _stallAfter = new Queue<byte[]>(markers.Select(System.Text.Encoding.ASCII.GetBytes));
        }
    }

    /// <summary>Drops every connection and refuses new ones.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            _flowing.TrySetResult();
            _flowing = Flowing();
            _stallAfter.Clear();
            _listener?.Stop();
            _listener = null;
            foreach (var connection in _connections)
            {
                connection.Client.LingerState = new LingerOption(true, 0);
                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Restore() => Listen(Port);

    public async ValueTask DisposeAsync()
    {
        await _stopped.CancelAsync();
        Cut();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stopped.Dispose();
    }

    private void Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        lock (_gate)
        {
            _listener = listener;
        }

        _accepting = AcceptEachAsync(listener, RelayAsync, _stopped.Token);
    }

    /// <summary>Hands each connection <paramref name="listener"/> accepts to <paramref name="serve"/> until stopped.</summary>
    public static async Task AcceptEachAsync(TcpListener listener, Func<TcpClient, Task> serve, CancellationToken stopped)
    {
        while (!stopped.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopped);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = serve(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        lock (_gate)
        {
            _connections.Add(client);
            _connections.Add(server);
        }

        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stopped.Token);
            await Task.WhenAny(CopyAsync(client, server, fromClient: true), CopyAsync(server, client, fromClient: false));
        }
        catch (Exception exception) when (exception is SocketException or IOException or ObjectDisposedException
                                              or OperationCanceledException or InvalidOperationException)
        {
            // A cut connection ends here; the other side sees it closed.
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(client);
                _connections.Remove(server);
            }

            client.Dispose();
            server.Dispose();
        }
    }

    private static TaskCompletionSource Flowing()
    {
        var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flowing.SetResult();
        return flowing;
    }

    private async Task CopyAsync(TcpClient from, TcpClient to, bool fromClient)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.GetStream().ReadAsync(buffer, _stopped.Token)) > 0)
            {
                Task flowing;
                lock (_gate)
                {
                    flowing = _flowing.Task;
                }

                await flowing;
                lock (_gate)
                {
                    if (fromClient && _stallAfter.TryPeek(out var marker) && buffer.AsSpan(0, read).IndexOf(marker) >= 0)
                    {
                        _stallAfter.Dequeue();
                        if (_stallAfter.Count == 0)
                        {
                            _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        }
                    }
                }

                await to.GetStream().WriteAsync(buffer.AsMemory(0, read), _stopped.Token);
            }
        }
        catch (Exception exception) when (exception is SocketException or IOException or ObjectDisposedException
                                              or OperationCanceledException or InvalidOperationException)
        {
            // Either side closing ends the relay of both directions.
        }
    }
}
