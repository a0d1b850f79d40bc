package dev.splitllm.engine.tensor;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.weights.WeightFormat;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A row read into one lane of a k-major prefill panel holds exactly the values {@link
 * WeightMatrix#readRow} gives, for the formats that decode straight into the panel (Q8_0, Q4_0)
 * and for the default path of the others; nothing outside the lane is written.
 */
class StridedReadTest {

    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0", "q4_k", "q6_k", "f16", "f32"})
    void aStridedRowEqualsReadRow(String format) {
        int rows = 5, cols = 512, stride = 7, lane = 3;
        Random rnd = new Random(format.hashCode());
        float[] src = new float[rows * cols];
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian();
        WeightMatrix m = MatrixConverter.fromF32(src, 0, rows, cols, WeightFormat.parse(format), "test");
        float[] row = new float[cols];
        float[] panel = new float[lane + cols * stride];
        for (int r = 0; r < rows; r++) {
            Arrays.fill(panel, Float.NaN);
            m.readRow(r, row, 0);
            m.readRowStrided(r, panel, lane, stride, new float[cols]);
            for (int c = 0; c < cols; c++) {
                assertEquals(Float.floatToRawIntBits(row[c]), Float.floatToRawIntBits(panel[lane + c * stride]), format + " row " + r + " col " + c);
                for (int l = 0; l < stride; l++) {
                    if (l != lane && lane + c * stride - lane + l < panel.length) {
                        assertTrue(Float.isNaN(panel[c * stride + l]), format + ": wrote outside its lane at " + (c * stride + l));
                    }
                }
            }
        }
    }
}
