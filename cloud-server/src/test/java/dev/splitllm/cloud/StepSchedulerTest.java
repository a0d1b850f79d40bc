package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.FrameLimits;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import org.junit.jupiter.api.Test;

/** #17: the scheduler's chunking rule, and the step rule (rollback, resend) through its ticks. */
class StepSchedulerTest {
    static final CodecSpec SPEC = CodecSpec.parse("fp32");
    static final int SPLIT = 2;
    static final int SEQ = 64;

    @Test
    void promptChunksAndTailsAreNeverShorterThanFourRows() {
        JavaBackend backend = new JavaBackend(ServerFixture.model(), KernelProvider.best(), new ThreadTeam(1));
        try (Segment seg = backend.open(SPLIT, 6, SEQ)) {
            var state = JavaBackend.stateOf(seg);
            assertEquals(10, StepScheduler.chunk(10, 16, state)); // fits: whole
            assertEquals(12, StepScheduler.chunk(16, 12, state)); // tail 4
            assertEquals(12, StepScheduler.chunk(16, 13, state)); // 13 would leave a tail of 3
            assertEquals(4, StepScheduler.chunk(20, 2, state)); // a full tick still moves the oldest prompt by 4
            assertEquals(7, StepScheduler.chunk(7, 5, state)); // too short to split in two chunks of 4
            for (int rem = 1; rem <= 40; rem++) {
                for (int room = 4; room <= 20; room++) {
                    int left = rem;
                    while (left > 0) {
                        int take = StepScheduler.chunk(left, room, state);
                        left -= take;
                        if (rem >= 4) assertEquals(true, take >= 4 && (left == 0 || left >= 4), rem + "/" + room);
                    }
                }
            }
        }
    }

    @Test
    void aStepThatFailsInATickRollsBackAndCanBeSentAgain() {
        int dim = ServerFixture.config().dim();
        int[] prompt = ServerFixture.tokenizer().encode("Once upon a time there was a little girl named Lily", true);
        try (ThreadTeam team = new ThreadTeam(1);
             StepScheduler scheduler = new StepScheduler(4, 8);
             Segment front = new JavaBackend(ServerFixture.model(), KernelProvider.best(), team).open(0, SPLIT, SEQ)) {
            // A KV cache of 12 positions behind a session that allows 64: the prompt's first chunk (8
            // rows) runs, the second one overflows the cache in the engine, and the whole step,
            // first chunk included, must roll back.
            int L = ServerFixture.config().nLayers();
            Segment back = new JavaBackend(ServerFixture.model(), KernelProvider.best(), team).open(SPLIT, L, 12);
            long kv = MemoryAccount.kvCacheBytes(ServerFixture.config(), L - SPLIT, 12);
            CloudSession s = new CloudSession("0123456789abcdef0123456789abcdef", 77L, Auth.digest("t"), SPLIT, SPEC, "f32", SEQ,
                    kv, back, Sampler.greedy());
            float[] h = front.embed(prompt);
            front.forward(h, prompt.length);
            byte[] prefill = new SessionCodec(SPEC).encodeFrame(
                    new FrameHeader(77L, 0, Phase.PREFILL, SPLIT, 0, prompt.length, dim, SPEC), h);
            FrameLimits limits = new FrameLimits(SEQ, dim, 16 << 20);
            assertEquals(13, prompt.length);
            assertThrows(IllegalArgumentException.class, () -> s.handle(prefill, limits, scheduler));
            assertEquals(0, s.nextStep(), "the failed step can be sent again");
            assertEquals(0, s.position(), "every chunk of the failed prefill was rolled back");
            assertThrows(IllegalArgumentException.class, () -> s.handle(prefill, limits, scheduler)); // not a position mismatch
            assertEquals(0, s.position());
            // The scheduler still serves: the first 12 rows of the prompt as a step of its own.
            int[] head = java.util.Arrays.copyOf(prompt, 12);
            float[] h12 = java.util.Arrays.copyOf(h, 12 * dim);
            byte[] fits = new SessionCodec(SPEC).encodeFrame(new FrameHeader(77L, 0, Phase.PREFILL, SPLIT, 0, head.length, dim, SPEC), h12);
            CloudSession.Outcome ok = s.handle(fits, limits, scheduler);
            assertNull(ok.error(), String.valueOf(ok.error()));
            assertEquals(12, s.position());
            assertEquals(1, s.nextStep());
            long[] stats = scheduler.stats(); // ticks: 8 rows (then the failing 5) twice, then 8 + 4
            assertEquals(true, stats[0] >= 4, java.util.Arrays.toString(stats));
        }
    }
}
