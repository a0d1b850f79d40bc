package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import org.junit.jupiter.api.Test;

/** The hand-written mapping gives the same JSON and values as Jackson's record binding (which the server uses). */
class ProtocolJsonTest {
    private final ObjectMapper jackson = new ObjectMapper();

    @Test
    void sessionRequestIsWrittenAsTheRecordWouldBe() throws Exception {
        SessionRequest r = new SessionRequest(3, "tabq:eps=1e-3,bits=2/3/4/6/8,tau=4", "q8_0", 128, 0.7f, 0.9f, -42L);
        assertEquals(jackson.readTree(jackson.writeValueAsBytes(r)), jackson.readTree(ProtocolJson.write(r)));
    }

    @Test
    void messagesAreReadAsTheRecordBindingReadsThem() throws Exception {
        SessionCreated c = new SessionCreated("ab12", "/v1/sessions/ab12/stream", 0x0123456789abcdefL, 3, 288, 256,
                "fp32", "f32", 16 << 20);
        assertEquals(c, ProtocolJson.sessionCreated(ProtocolJson.parse(jackson.writeValueAsString(c))));
        TokenMessage t = new TokenMessage(7, 31999, 1.25);
        assertEquals(t, ProtocolJson.token(ProtocolJson.parse(jackson.writeValueAsString(t))));
        ErrorMessage e = new ErrorMessage("bad_step", "step 9 is ahead of 4", 9, true);
        assertEquals(e, ProtocolJson.error(ProtocolJson.parse(jackson.writeValueAsString(e))));
    }

    @Test
    void absentFieldsReadAsTheRecordBindingDefaults() throws Exception {
        String json = "{\"message\":\"no code\",\"extra\":1}";
        ErrorMessage e = ProtocolJson.error(ProtocolJson.parse(json));
        assertNull(e.code());
        assertEquals(jackson.readerFor(ErrorMessage.class)
                .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).readValue(json), e);
    }
}
