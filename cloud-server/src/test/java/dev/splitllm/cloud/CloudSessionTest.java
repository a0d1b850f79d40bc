package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.OutlierChannels;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.FrameLimits;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import org.junit.jupiter.api.Test;

/**
 * The session's codec state (the outlier channels of {@code channels=session}) lives in its
 * SessionCodec: a frame's set is adopted only when its step commits, never by a refused or a
 * failed step. Frames come from a front segment on the engine through the edge's side of the codec.
 */
class CloudSessionTest {
    static final CodecSpec SPEC = CodecSpec.parse("tabq:eps=1e-3,bits=2/3/4/6/8,tau=3.5,channels=session");
    static final int SPLIT = 2;
    static final int SEQ = 64;

    private static CloudSession session(ThreadTeam team, int endLayer) {
        JavaBackend backend = new JavaBackend(ServerFixture.model(), KernelProvider.best(), team);
        Segment back = backend.open(SPLIT, endLayer, SEQ);
        long kv = MemoryAccount.kvCacheBytes(ServerFixture.config(), endLayer - SPLIT, SEQ);
        return new CloudSession("0123456789abcdef0123456789abcdef", 77L, Auth.digest("t"), SPLIT, SPEC, "f32", SEQ, kv, back,
                Sampler.greedy());
    }

    private static FrameLimits limits() {
        return new FrameLimits(SEQ, ServerFixture.config().dim(), 16 << 20);
    }

    private static float[] front(Segment seg, int[] input) {
        float[] h = seg.embed(input);
        seg.forward(h, input.length);
        return h;
    }

    @Test
    void aFrameChannelSetIsAdoptedOnlyWhenItsStepCommits() {
        int dim = ServerFixture.config().dim();
        int[] prompt = ServerFixture.tokenizer().encode("Once upon a time", true);
        try (ThreadTeam team = new ThreadTeam(1);
             Segment seg = new JavaBackend(ServerFixture.model(), KernelProvider.best(), team).open(0, SPLIT, SEQ)) {
            CloudSession s = session(team, ServerFixture.config().nLayers());
            float[] h = front(seg, prompt);

            // A prefill that announces a set but is refused (wrong split layer): the set is not taken.
            byte[] refused = new SessionCodec(SPEC).encodeFrame(
                    new FrameHeader(77L, 0, Phase.PREFILL, SPLIT + 1, 0, prompt.length, dim, SPEC), h);
            CloudSession.Outcome bad = s.handle(refused, limits());
            assertNotNull(bad.error());
            assertEquals("bad_frame", bad.error().code());
            assertNull(s.channels(), "a refused frame must not change the session's channel set");

            SessionCodec edge = new SessionCodec(SPEC);
            byte[] prefill = edge.encodeFrame(new FrameHeader(77L, 0, Phase.PREFILL, SPLIT, 0, prompt.length, dim, SPEC), h);
            OutlierChannels chosen = edge.channels();
            assertNotNull(chosen, "the edge chooses the set from the prefill rows");
            CloudSession.Outcome first = s.handle(prefill, limits());
            assertNull(first.error(), String.valueOf(first.error()));
            assertEquals(chosen, s.channels(), "the committed prefill's set is the session's");

            // A decode frame carries no set: it decodes with the committed one and leaves it as it is.
            float[] h1 = front(seg, new int[] {first.answer().token()});
            byte[] decode = edge.encodeFrame(new FrameHeader(77L, 1, Phase.DECODE, SPLIT, prompt.length, 1, dim, SPEC), h1);
            CloudSession.Outcome second = s.handle(decode, limits());
            assertNull(second.error(), String.valueOf(second.error()));
            assertEquals(1, second.answer().step());
            assertEquals(chosen, s.channels());
            assertEquals(2, s.nextStep());
        }
    }

    @Test
    void aFailedStepLeavesTheChannelSetAsItWas() {
        int dim = ServerFixture.config().dim();
        int[] prompt = ServerFixture.tokenizer().encode("Once upon a time", true);
        try (ThreadTeam team = new ThreadTeam(1);
             Segment seg = new JavaBackend(ServerFixture.model(), KernelProvider.best(), team).open(0, SPLIT, SEQ)) {
            // Blocks [2, 4) without the head: the forward runs, then sampling fails and the step rolls back.
            CloudSession s = session(team, 4);
            byte[] prefill = new SessionCodec(SPEC).encodeFrame(
                    new FrameHeader(77L, 0, Phase.PREFILL, SPLIT, 0, prompt.length, dim, SPEC), front(seg, prompt));
            assertThrows(IllegalStateException.class, () -> s.handle(prefill, limits()));
            assertNull(s.channels(), "the failed step's set must not stay");
            assertEquals(0, s.nextStep(), "the failed step can be sent again");
            // The KV positions of the failed step were rolled back too: the same frame is refused
            // only by the missing head again, not by a position mismatch.
            assertThrows(IllegalStateException.class, () -> s.handle(prefill, limits()));
            assertNull(s.channels());
        }
    }
}
