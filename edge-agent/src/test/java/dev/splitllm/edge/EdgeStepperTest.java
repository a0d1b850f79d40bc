package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.Generation;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.Frame;
import dev.splitllm.quantization.wire.FrameLimits;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The edge stepper on its own, no network: its frames, decoded by the cloud's side of the codec
 * and run through the back blocks in process, give the unsplit model's tokens.
 */
class EdgeStepperTest {
    static final long TAG = 0x5eed5eedL;
    static ModelWeights full;
    static ThreadTeam team;

    @BeforeAll
    static void load() throws IOException {
        full = Llama2cCheckpoint.load(Fixture.checkpoint(), ModelSlice.all(6));
        team = new ThreadTeam(1);
    }

    @AfterAll
    static void close() {
        team.close();
    }

    static FrameLimits limits() {
        return new FrameLimits(256, full.config().dim(), 16 << 20);
    }

    /** A whole split generation in process: stepper frames up, the back blocks and a sampler as the cloud. */
    static int[] splitInProcess(EdgeModel edge, CodecSpec spec, String prompt, int n) throws Exception {
        int[] ids = edge.tokenizer().encode(prompt, true);
        Sampler sampler = Sampler.greedy();
        SessionCodec cloudCodec = new SessionCodec(spec);
        int[] out = new int[n];
        int count = 0;
        try (EdgeStepper stepper = new EdgeStepper(edge, spec, 128, TAG);
             Segment back = new JavaBackend(full, KernelProvider.best(), team).open(edge.splitLayer(), 6, 128)) {
            String stop = null;
            while (stop == null) {
                EdgeStepper.Step step = count == 0 ? stepper.prefill(ids) : stepper.decode(out[count - 1]);
                Frame f = cloudCodec.decodeFrame(step.frame(), limits());
                assertEquals(step.step(), f.header().step());
                back.forward(f.hidden(), f.header().tokens());
                cloudCodec.accept(f);
                out[count++] = sampler.sample(back.lastLogits(f.hidden(), f.header().tokens()));
                stop = stepper.stopReason(out[count - 1], count, n, false);
            }
        }
        return Arrays.copyOf(out, count);
    }

    @Test
    void framesThroughTheBackBlocksGiveTheUnsplitTokens() throws Exception {
        try (EdgeModel edge = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 3, 1);
             Segment whole = new JavaBackend(full, KernelProvider.best(), team).open(128)) {
            int[] expected = Generation.generate(whole, edge.tokenizer().encode("Once upon a time", true), 30, Sampler.greedy(),
                    edge.tokenizer().eos());
            assertArrayEquals(expected, splitInProcess(edge, CodecSpec.parse("fp32"), "Once upon a time", 30));
        }
    }

    @Test
    void fp32FramesCarryTheFrontHiddenStateExactlyWithTheStepRule() throws Exception {
        try (EdgeModel edge = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 2, 1);
             EdgeStepper stepper = new EdgeStepper(edge, CodecSpec.parse("fp32"), 64, TAG);
             Segment ref = new JavaBackend(full, KernelProvider.best(), team).open(0, 2, 64)) {
            SessionCodec cloud = new SessionCodec(CodecSpec.parse("fp32"));
            int[] prompt = edge.tokenizer().encode("The little dragon", true);
            assertThrows(IllegalStateException.class, () -> stepper.decode(5), "decode steps follow the prefill");
            Frame f0 = cloud.decodeFrame(stepper.prefill(prompt).frame(), limits());
            assertEquals(TAG, f0.header().sessionId());
            assertEquals(0, f0.header().step());
            assertEquals(Phase.PREFILL, f0.header().phase());
            assertEquals(2, f0.header().splitLayer());
            assertEquals(0, f0.header().startPosition());
            assertEquals(prompt.length, f0.header().tokens());
            float[] h0 = ref.embed(prompt);
            ref.forward(h0, prompt.length);
            assertArrayEquals(h0, f0.hidden(), "fp32 is lossless: the cloud gets the edge's rows bit for bit");
            assertThrows(IllegalStateException.class, () -> stepper.prefill(prompt), "one prefill per session");

            Frame f1 = cloud.decodeFrame(stepper.decode(42).frame(), limits());
            assertEquals(1, f1.header().step());
            assertEquals(Phase.DECODE, f1.header().phase());
            assertEquals(prompt.length, f1.header().startPosition());
            assertEquals(1, f1.header().tokens());
            float[] h1 = ref.embed(new int[] {42});
            ref.forward(h1, 1);
            assertArrayEquals(h1, f1.hidden());
            assertEquals(prompt.length + 1, stepper.position());
            assertEquals(2, stepper.nextStep());
        }
    }

    @Test
    void sessionChannelsAreChosenByThePrefillAndCarriedOnce() throws Exception {
        CodecSpec spec = CodecSpec.parse("tabq:eps=1e-3,bits=2/3/4/6/8,tau=3.5,channels=session");
        try (EdgeModel edge = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 3, 1);
             EdgeStepper stepper = new EdgeStepper(edge, spec, 64, TAG)) {
            SessionCodec cloud = new SessionCodec(spec);
            assertNull(stepper.codec().channels());
            Frame f0 = cloud.decodeFrame(stepper.prefill(edge.tokenizer().encode("Once upon a time", true)).frame(), limits());
            assertTrue(f0.channelsInFrame(), "the prefill frame announces the set");
            assertNotNull(stepper.codec().channels());
            assertEquals(stepper.codec().channels(), f0.channels());
            cloud.accept(f0);
            Frame f1 = cloud.decodeFrame(stepper.decode(100).frame(), limits());
            assertFalse(f1.channelsInFrame(), "later frames rely on the announced set");
            assertEquals(stepper.codec().channels(), cloud.channels());
        }
    }

    @Test
    void stopRuleAndKvBytes() throws Exception {
        try (EdgeModel edge = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 2, 1)) {
            int[] prompt = edge.tokenizer().encode("Once upon a time", true);
            int seq = prompt.length + 2;
            try (EdgeStepper stepper = new EdgeStepper(edge, CodecSpec.parse("fp16"), seq, TAG);
                 Segment same = edge.backend().open(0, 2, seq)) {
                assertEquals(MemoryAccount.kvCacheBytes(edge.config(), 2, seq), stepper.kvBytes());
                assertEquals(same.kvBytes(), stepper.kvBytes(), "the account is what the engine allocates");
                assertThrows(IllegalArgumentException.class, () -> stepper.checkPrompt(new int[seq]));
                stepper.prefill(prompt);
                int eos = edge.tokenizer().eos();
                int other = eos + 1;
                assertEquals("eos", stepper.stopReason(eos, 1, 10, false));
                assertEquals("eos", stepper.stopReason(edge.tokenizer().bos(), 1, 10, false), "a llama2.c story ends with BOS, as run.c stops");
                assertNull(stepper.stopReason(edge.tokenizer().bos(), 1, 10, true), "unless told to run on");
                assertEquals("max_tokens", stepper.stopReason(other, 10, 10, false));
                assertNull(stepper.stopReason(other, 1, 10, false));
                stepper.decode(other);
                assertNull(stepper.stopReason(other, 2, 10, false), "one more position is free");
                stepper.decode(other);
                assertEquals("context_full", stepper.stopReason(other, 3, 10, false));
                assertThrows(IllegalStateException.class, () -> stepper.decode(other));
            }
        }
    }
}
