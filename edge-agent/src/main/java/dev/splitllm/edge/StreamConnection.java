package dev.splitllm.edge;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import okio.ByteString;

/**
 * One WebSocket to a session's stream. OkHttp delivers messages on its own thread; they are
 * queued here so the token loop can wait for them with a timeout.
 */
final class StreamConnection implements AutoCloseable {

    /** What the socket delivered: a text message, or the end of the connection. */
    record Event(String text, boolean ended, String why, int httpStatus, boolean tlsFailure, int closeCode) {
        static Event message(String text) {
            return new Event(text, false, null, 0, false, 0);
        }

        static Event end(String why) {
            return new Event(null, true, why, 0, false, 0);
        }

        /** Nothing arrived: the waiter is woken to look at its session (e.g. a cancel). */
        static Event wake() {
            return new Event(null, false, null, 0, false, 0);
        }

        boolean isWake() {
            return !ended && text == null;
        }
    }

    private final WebSocket socket;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

    StreamConnection(OkHttpClient client, String url, String token) {
        Request req = new Request.Builder().url(url).header("Authorization", "Bearer " + token).build();
        this.socket = client.newWebSocket(req, new WebSocketListener() {
            @Override
            public void onMessage(WebSocket ws, String text) {
                events.add(Event.message(text));
            }

            @Override
            public void onMessage(WebSocket ws, ByteString bytes) {
                events.add(Event.end("unexpected binary message from the server"));
            }

            @Override
            public void onClosing(WebSocket ws, int code, String reason) {
                events.add(new Event(null, true, "closed by server (" + code + (reason.isEmpty() ? "" : ": " + reason) + ")",
                        0, false, code));
                ws.close(1000, null);
            }

            @Override
            public void onFailure(WebSocket ws, Throwable t, Response response) {
                int code = response == null ? 0 : response.code();
                String status = code == 0 ? "" : " (HTTP " + code + ")";
                // A TLS failure (untrusted certificate, wrong host) is not cured by reconnecting.
                events.add(new Event(null, true, "connection failed" + status + ": " + t, code, t instanceof SSLException, 0));
            }
        });
    }

    /** Queues a binary frame; false if the socket is already closing. */
    boolean send(byte[] frame) {
        return socket.send(ByteString.of(frame));
    }

    /** Queues a text message; false if the socket is already closing. */
    boolean sendText(String text) {
        return socket.send(text);
    }

    /** The next event, or null after {@code millis}. */
    Event poll(long millis) throws InterruptedException {
        return events.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Wakes a thread waiting in {@link #poll} with a {@link Event#wake} event. */
    void wake() {
        events.add(Event.wake());
    }

    /** Drops the connection at once (no close handshake), as a lost link would. */
    void cancel() {
        socket.cancel();
    }

    @Override
    public void close() {
        socket.close(1000, "done");
    }
}
