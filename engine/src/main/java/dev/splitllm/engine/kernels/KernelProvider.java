package dev.splitllm.engine.kernels;

import java.util.Locale;

/**
 * Picks the best kernels this runtime can run, in rank order: Vector API, then plain Java.
 * The Vector API class is loaded by name only after the module check, so a runtime that
 * lacks {@code jdk.incubator.vector} (Android, or a JVM started without
 * {@code --add-modules jdk.incubator.vector}) never resolves it. On Android's runtime (ART),
 * which has neither the Vector API nor {@code java.lang.ModuleLayer}, the module check itself
 * is skipped and the plain-Java kernels are used. Each candidate must pass a numeric smoke
 * test before it is used; {@link #whyNotVector()} says why the Vector API is not in use.
 *
 * <p>{@code -Dsplitllm.kernels=scalar|vector|auto} forces a choice (default auto).
 */
public final class KernelProvider {
    private KernelProvider() {}

    private static final String VECTOR_CLASS = "dev.splitllm.engine.kernels.vector.VectorKernels";
    private static volatile Kernels best;
    private static volatile String whyNotVector = "";

    /** The best available kernels (cached). */
    public static Kernels best() {
        Kernels k = best;
        if (k == null) {
            synchronized (KernelProvider.class) {
                if (best == null) {
                    best = select(System.getProperty("splitllm.kernels", "auto"));
                }
                k = best;
            }
        }
        return k;
    }

    /** The plain-Java kernels. */
    public static Kernels scalar() {
        return new ScalarKernels();
    }

    /** Why the Vector API kernels are not in use, or "" if they are. */
    public static String whyNotVector() {
        best();
        return whyNotVector;
    }

    /** Selects by preference: "auto", "vector" (fails if unavailable) or "scalar". */
    public static Kernels select(String preference) {
        String p = preference.toLowerCase(Locale.ROOT);
        switch (p) {
            case "scalar":
                whyNotVector = "scalar kernels requested";
                return new ScalarKernels();
            case "vector": {
                Kernels v = tryVector();
                if (v == null) {
                    throw new IllegalStateException("Vector API kernels requested but unavailable: " + whyNotVector);
                }
                return v;
            }
            case "auto": {
                Kernels v = tryVector();
                return v != null ? v : new ScalarKernels();
            }
            default:
                throw new IllegalArgumentException("splitllm.kernels must be auto, vector or scalar, not '" + preference + "'");
        }
    }

    private static Kernels tryVector() {
        if (isAndroidRuntime()) {
            whyNotVector = "the Android runtime has no Vector API (jdk.incubator.vector)";
            return null;
        }
        if (!vectorModulePresent()) {
            whyNotVector = "module jdk.incubator.vector is not present (start the JVM with --add-modules jdk.incubator.vector)";
            return null;
        }
        try {
            Kernels k = (Kernels) Class.forName(VECTOR_CLASS).getDeclaredConstructor().newInstance();
            if (!passesSmokeTest(k)) {
                whyNotVector = "Vector API kernels failed the smoke test";
                return null;
            }
            whyNotVector = "";
            return k;
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            whyNotVector = "Vector API kernels could not load: " + e;
            return null;
        }
    }

    /** True on Android's runtime (ART, which still reports itself as "Dalvik"). */
    static boolean isAndroidRuntime() {
        return "Dalvik".equals(System.getProperty("java.vm.name"));
    }

    /**
     * Whether the boot layer holds {@code jdk.incubator.vector}. A runtime without
     * {@code java.lang.ModuleLayer} (any Java 8-level library, such as ART's) has no such module.
     */
    private static boolean vectorModulePresent() {
        try {
            return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        } catch (LinkageError e) {
            return false;
        }
    }

    /** Compares a candidate with the scalar kernels on a small deterministic input. */
    static boolean passesSmokeTest(Kernels k) {
        Kernels ref = new ScalarKernels();
        int n = 64;
        float[] a = new float[n];
        float[] b = new float[n];
        byte[] q8 = new byte[2 * 34];
        byte[] q4 = new byte[2 * 18];
        for (int i = 0; i < n; i++) {
            a[i] = (i % 7) - 3.25f;
            b[i] = ((i * 5) % 11) * 0.125f - 0.5f;
        }
        for (int i = 0; i < q8.length; i++) q8[i] = (byte) (i * 37 + 3);
        for (int i = 0; i < q4.length; i++) q4[i] = (byte) (i * 53 + 1);
        q8[0] = 0; q8[1] = 0x3c; q8[34] = 0; q8[35] = 0x38; // scales 1.0 and 0.5
        q4[0] = 0; q4[1] = 0x3c; q4[18] = 0; q4[19] = 0x38;
        return close(k.dotF32(a, 0, b, 0, n), ref.dotF32(a, 0, b, 0, n))
                && close(k.dotQ8_0(q8, 0, b, 0, n), ref.dotQ8_0(q8, 0, b, 0, n))
                && close(k.dotQ4_0(q4, 0, b, 0, n), ref.dotQ4_0(q4, 0, b, 0, n));
    }

    private static boolean close(float x, float y) {
        return Math.abs(x - y) <= 1e-3f * Math.max(1f, Math.abs(y));
    }
}
