package dev.splitllm.quantization.codec;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class CodecSpecTest {

    @Test
    void canonicalStringsRoundTrip() {
        String[] canonical = {
            "fp32", "fp16", "q8_0", "fp16:zstd", "q8_0:rot,zstd", "uniform:bits=4", "uniform:bits=1,rot=77",
            "tabq:eps=0.001,bits=2/3/4/6/8", "tabq:eps=0.001,bits=2/3/4/6/8,tau=3.5,rot,zstd",
            "tabq:eps=0.01,bits=4/8,tau=6.0,channels=session", "tabq:eps=1.0E-5,bits=1/2/3/4/5/6/7/8,tau=100.0,rot=-3",
        };
        for (String s : canonical) {
            CodecSpec spec = CodecSpec.parse(s);
            assertEquals(s, spec.toString(), "canonical form of " + s);
            assertEquals(spec, CodecSpec.parse(spec.toString()));
        }
    }

    @Test
    void looseFormsNormalise() {
        assertEquals("tabq:eps=0.001,bits=2/3/4/6/8,tau=3.5,rot,zstd",
                CodecSpec.parse(" TABQ:eps=1e-3, bits=2/3/4/6/8, tau=3.5, rot, zstd ").toString());
        assertEquals("tabq:eps=0.001,bits=2/3/4/6/8", CodecSpec.parse("tabq").toString());
        assertEquals(CodecSpec.parse("tabq"), CodecSpec.parse("tabq:tau=0"), "tau=0 means TS off");
        assertEquals(CodecSpec.parse("tabq"), CodecSpec.parse("tabq:tau=inf"));
        assertFalse(CodecSpec.parse("tabq:tau=inf").thresholdSplit());
        assertTrue(CodecSpec.parse("tabq:tau=2").thresholdSplit());
        assertEquals(CodecSpec.uniform(4), CodecSpec.parse("Uniform:Bits=4"));
        assertEquals(CodecSpec.DEFAULT_ROTATION_SEED, CodecSpec.parse("q8_0:rot").rotationSeed());
    }

    @Test
    void bitSetAccessors() {
        CodecSpec spec = CodecSpec.parse("tabq:bits=3/5/8");
        assertArrayEquals(new int[] {3, 5, 8}, spec.bitWidths());
        assertEquals(3, spec.minBits());
        assertEquals(8, spec.maxBits());
        assertTrue(spec.allowsBits(5));
        assertFalse(spec.allowsBits(4));
        assertFalse(spec.allowsBits(0));
        assertFalse(spec.allowsBits(9));
        assertTrue(CodecSpec.uniform(4).allowsBits(4));
        assertFalse(CodecSpec.uniform(4).allowsBits(3));
    }

    @Test
    void badStringsAreRejectedWithTheReason() {
        String[][] cases = {
            {"", "empty"}, {"  ", "empty"}, {"fp8", "unknown codec"}, {"tabq:", "empty option list"},
            {"uniform", "needs bits"}, {"uniform:bits=9", "1..8"}, {"uniform:bits=0", "1..8"},
            {"uniform:bits=four", "integer"}, {"tabq:bits=4/3", "strictly ascending"}, {"tabq:bits=2/2", "strictly ascending"},
            {"tabq:bits=0/4", "1..8"}, {"tabq:bits=", "empty value"}, {"tabq:bits=2//4", "integer"},
            {"tabq:eps=0", "(0, 1]"}, {"tabq:eps=2", "(0, 1]"}, {"tabq:eps=-1e-3", "(0, 1]"}, {"tabq:eps=NaN", "decimal"},
            {"tabq:eps=0x1p-3", "decimal"}, {"tabq:eps=1e-3f", "decimal"}, {"tabq:eps=1e99", "out of range"},
            {"tabq:tau=-1", "tau must be"}, {"tabq:tau=abc", "decimal"}, {"tabq:channels=session", "finite tau"},
            {"tabq:tau=3,channels=all", "must be 'session'"}, {"tabq:eps=1e-3,eps=1e-2", "twice"},
            {"tabq:foo", "unknown option"}, {"fp32:rot", "lossless"}, {"fp16:bits=4", "does not apply"},
            {"q8_0:eps=1e-3", "only applies to tabq"}, {"uniform:bits=4,tau=3", "only applies to tabq"},
            {"tabq:rot=0", "non-zero"}, {"tabq:rot=x", "integer"}, {"tabq:zstd=1", "takes no value"},
            {"tabq:tau", "needs a value"}, {"tabq:,zstd", "empty option"}, {"x".repeat(300), "longer than"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), "'" + c[0] + "' gave: " + e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse(null));
    }

    @Test
    void recordConstructorValidatesLikeTheParser() {
        assertThrows(IllegalArgumentException.class, () -> new CodecSpec(null, 0, 0f, 0, Float.POSITIVE_INFINITY, false, false, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new CodecSpec(CodecKind.TABQ, 0, 1e-3f, 0x100, Float.POSITIVE_INFINITY, false, false, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new CodecSpec(CodecKind.FP16, 0, 0f, 0, Float.NaN, false, false, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new CodecSpec(CodecKind.Q8_0, 0, 0f, 0, Float.POSITIVE_INFINITY, false, false, 5, false),
                "seed without rotation");
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.q8_0().withRotation(0), "seed 0 cannot be written as a string");
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.maskOf());
        assertEquals(0b10101110, CodecSpec.DEFAULT_BIT_MASK);
    }
}
