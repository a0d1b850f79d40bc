package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the provider chooses, and that it never reaches for the Vector API on Android's runtime. */
class KernelProviderTest {

    /** select() records why the Vector API is not used; leave the record as this JVM's own choice. */
    @AfterEach
    void restoreTheRecordedReason() {
        KernelProvider.select(System.getProperty("splitllm.kernels", "auto"));
    }

    @Test
    void onAndroidsRuntimeAutoPicksThePlainJavaKernelsAndSaysWhy() {
        String vm = System.getProperty("java.vm.name");
        System.setProperty("java.vm.name", "Dalvik"); // what ART reports
        try {
            assertTrue(KernelProvider.isAndroidRuntime());
            assertEquals("scalar", KernelProvider.select("auto").name());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelProvider.select("vector"));
            assertTrue(e.getMessage().contains("the Android runtime has no Vector API"), e.getMessage());
        } finally {
            System.setProperty("java.vm.name", vm);
        }
        assertFalse(KernelProvider.isAndroidRuntime());
    }

    @Test
    void onThisJvmWithTheIncubatorModuleAutoPicksTheVectorKernels() {
        // The build adds jdk.incubator.vector to the test JVM (the parent POM's argLine).
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
        assertTrue(KernelProvider.select("auto").name().startsWith("vector"), KernelProvider.select("auto").name());
    }

    @Test
    void scalarCanBeForcedAndUnknownPreferencesAreRefused() {
        assertEquals("scalar", KernelProvider.select("SCALAR").name());
        assertThrows(IllegalArgumentException.class, () -> KernelProvider.select("neon"));
    }
}
