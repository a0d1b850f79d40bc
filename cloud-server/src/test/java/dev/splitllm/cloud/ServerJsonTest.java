package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.protocol.CompletionResponse;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the server writes is exactly the protocol's JSON records (docs/PROTOCOL.md): every body and
 * stream message binds to its record with unknown fields refused, and the values are the session's.
 */
class ServerJsonTest {
    static ServerFixture fx;
    static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @BeforeAll
    static void start() {
        fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void restAndStreamMessagesAreTheProtocolRecords() throws Exception {
        String body = "{\"splitLayer\":3,\"codec\":\"tabq:eps=1e-3,bits=2/3/4/6/8\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,"
                + "\"temperature\":0,\"topP\":1,\"seed\":1}";
        ServerFixture.Reply r = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, body);
        assertEquals(201, r.status(), String.valueOf(r.body()));
        SessionCreated c = STRICT.treeToValue(r.body(), SessionCreated.class);
        assertEquals(3, c.splitLayer());
        assertEquals(ServerFixture.config().dim(), c.dim());
        assertEquals(64, c.maxSeqLen());
        assertEquals("/v1/sessions/" + c.sessionId() + "/stream", c.streamPath());
        assertEquals(CodecSpec.parse("tabq:eps=1e-3,bits=2/3/4/6/8").toString(), c.codec(), "the codec comes back canonical");
        assertEquals("f32", c.cloudWeights());
        try (Segment seg = fx.front(3, 64);
             RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(c.streamPath()), ServerFixture.TOKEN)) {
            int[] prompt = ServerFixture.tokenizer().encode("Once upon a time", true);
            float[] h = seg.embed(prompt);
            seg.forward(h, prompt.length);
            CodecSpec spec = CodecSpec.parse(c.codec());
            FrameCodec frames = new FrameCodec();
            ws.send(frames.encode(new FrameHeader(c.frameSession(), 4, Phase.PREFILL, 3, 0, prompt.length, c.dim(), spec), h));
            ErrorMessage err = STRICT.readValue(ws.next(), ErrorMessage.class);
            assertEquals(ErrorMessage.TYPE, err.type());
            assertEquals("bad_step", err.code());
            assertEquals(4, err.step());
            assertFalse(err.fatal());
            ws.send(frames.encode(new FrameHeader(c.frameSession(), 0, Phase.PREFILL, 3, 0, prompt.length, c.dim(), spec), h));
            TokenMessage t = STRICT.readValue(ws.next(), TokenMessage.class);
            assertEquals(TokenMessage.TYPE, t.type());
            assertEquals(0, t.step());
            assertTrue(t.token() >= 0 && t.token() < ServerFixture.config().vocabSize(), "token " + t.token());
            assertTrue(t.cloudMs() >= 0);
        } finally {
            assertEquals(204, fx.call("DELETE", "/v1/sessions/" + c.sessionId(), ServerFixture.TOKEN, null).status());
        }
        ServerFixture.Reply refused = fx.call("POST", "/v1/sessions", null, body);
        ErrorMessage e = STRICT.treeToValue(refused.body(), ErrorMessage.class);
        assertEquals(401, refused.status());
        assertEquals("unauthorized", e.code());
        ServerFixture.Reply done = fx.call("POST", "/v1/completions", ServerFixture.TOKEN,
                "{\"prompt\":\"Once upon a time\",\"maxTokens\":3,\"temperature\":0,\"topP\":1,\"seed\":1}");
        CompletionResponse cr = STRICT.treeToValue(done.body(), CompletionResponse.class);
        assertEquals(3, cr.tokens().length);
        assertEquals(ServerFixture.tokenizer().encode("Once upon a time", true).length, cr.promptTokens());
    }
}
