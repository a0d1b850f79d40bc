package dev.splitllm.tools.bench;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * The codec benchmark timed by the thread's CPU time instead of the wall clock, for shared
 * machines where other processes take the core away (CPU time still includes slow-downs from a
 * busy hyper-thread sibling). Run: {@code java -cp tools/target/classes:tools/target/test-classes:
 * quantization/target/classes:<zstd-jni jar> dev.splitllm.tools.bench.CodecCpuTimeBenchmark [seconds]}.
 */
public final class CodecCpuTimeBenchmark {
    private CodecCpuTimeBenchmark() {}

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws CorruptPayloadException {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 1.0;
        String[] specs = {"fp16", "q8_0", "uniform:bits=4", "tabq:eps=0.001", "tabq:eps=0.001,tau=6",
            "tabq:eps=0.01,tau=6", "tabq:eps=0.001,tau=6,zstd", "tabq:eps=0.001,tau=6,rot"};
        System.out.println("single thread; GB/s of fp32 activations per CPU-second of this thread");
        System.out.println(String.format(Locale.ROOT, "%-44s %5s %5s %9s %9s %9s %8s", "codec", "T", "d",
                "enc GB/s", "dec GB/s", "e+d GB/s", "bits/el"));
        for (int dim : new int[] {288, 2048}) {
            for (int tokens : new int[] {1, 64, 256}) {
                for (String s : specs) {
                    CodecSpec spec = CodecSpec.parse(s);
                    float[] x = CodecBenchmark.activations(tokens, dim, 42L + tokens * 31L + dim);
                    ActivationCodec codec = new ActivationCodec();
                    byte[] payload = codec.encode(spec, x, tokens, dim);
                    float[] hidden = new float[tokens * dim];
                    double enc = cpuSecondsPerCall(() -> codec.encode(spec, x, tokens, dim), seconds);
                    double dec = cpuSecondsPerCall(() -> {
                        try {
                            codec.decodeInto(spec, payload, 0, payload.length, tokens, dim, null, Integer.MAX_VALUE, hidden);
                        } catch (CorruptPayloadException e) {
                            throw new IllegalStateException(e);
                        }
                    }, seconds);
                    double bytes = 4.0 * tokens * dim;
                    System.out.println(String.format(Locale.ROOT, "%-44s %5d %5d %9.2f %9.2f %9.2f %8.3f", spec, tokens, dim,
                            bytes / enc / 1e9, bytes / dec / 1e9, bytes / (enc + dec) / 1e9,
                            ActivationCodec.bitsPerElement(payload.length, tokens, dim)));
                }
            }
        }
    }

    /** CPU seconds per call after a warm-up of a third of the time. */
    private static double cpuSecondsPerCall(Runnable body, double seconds) {
        long budget = (long) (seconds * 1e9);
        long warmEnd = THREADS.getCurrentThreadCpuTime() + budget / 3;
        while (THREADS.getCurrentThreadCpuTime() < warmEnd) {
            body.run();
        }
        long start = THREADS.getCurrentThreadCpuTime();
        long calls = 0;
        long now;
        do {
            for (int i = 0; i < 8; i++) {
                body.run();
            }
            calls += 8;
            now = THREADS.getCurrentThreadCpuTime();
        } while (now - start < budget);
        return (now - start) / 1e9 / calls;
    }
}
