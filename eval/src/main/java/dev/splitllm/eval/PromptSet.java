package dev.splitllm.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The fixed prompt set for agreement and KL: 32 story openings written for this project (in
 * the model's domain) and 32 sentences of Jane Austen's "Sense and Sensibility" (out of
 * domain), interleaved so any prefix of the set holds both kinds in equal measure.
 */
public final class PromptSet {
    /** Prompts in the full set. */
    public static final int SIZE = 64;

    public static final List<String> STORIES = List.of(
            "Once upon a time, there was a little fox who lived in a hollow log.",
            "Tom had a red kite. One windy day, he took it to the hill.",
            "The sun was shining and Mia wanted to go to the park with her dog.",
            "There was a big tree in the garden, and a small bird lived at the top.",
            "Sam found a shiny stone by the river. He picked it up and",
            "One morning, a little duck woke up and could not find his mom.",
            "Lily liked to bake cookies with her grandma on Sundays.",
            "The old car in the yard was rusty, but Ben loved to play in it.",
            "Anna had a box of crayons. She drew a picture of a purple cat.",
            "A tiny mouse wanted to see the moon, so he climbed the tallest hill.",
            "It was raining all day, and Max was bored inside the house.",
            "The princess had a golden ball that she loved more than anything.",
            "Jack and his sister built a boat out of sticks and leaves.",
            "In a small town, there lived a baker who made the best bread.",
            "The puppy saw a butterfly and ran after it across the field.",
            "Sara was scared of the dark, so her dad gave her a little lamp.",
            "Once there was a bear who did not like honey. All the other bears",
            "Tim wanted to help his mom in the garden. He took a big shovel and",
            "The little train went up the hill. It was very hard, but",
            "A girl named Rosie found a key under her bed. She wondered what it opened.",
            "The frog sat on a lily pad and sang a happy song.",
            "Grandpa told Lucy a story about a dragon who was afraid of fire.",
            "Ben and Lily went to the beach. They made a big sandcastle with a flag.",
            "The cat jumped on the table and knocked over the milk.",
            "One day, a small boy named Leo saw a rainbow after the rain.",
            "There was a shy turtle who never left his shell.",
            "Emma got a new bike for her birthday. It was blue and fast.",
            "The wind was cold, and the leaves were falling from the trees.",
            "A kind old lady lived in a house made of stones near the sea.",
            "The children were playing tag when they heard a loud noise.",
            "Mom said, \"Let's go to the market and buy some apples.\"",
            "Once upon a time, in a land far away, there was a magic hat.");

    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+(?=[A-Z\"])");

    private PromptSet() {}

    /**
     * The first {@code n} prompts: story i at index 2i, Austen sentence i at index 2i+1. Austen
     * sentences are taken from {@code austen} (the novel's text): sentences of 8 to 30 words
     * without quotation marks or underscores, 32 picked at evenly spaced positions.
     */
    public static List<String> prompts(String austen, int n) {
        if (n < 1 || n > SIZE) {
            throw new IllegalArgumentException("prompt count must be in 1.." + SIZE + ", got " + n);
        }
        List<String> candidates = new ArrayList<>();
        List<String> paras = TextWindows.paragraphs(austen);
        for (String p : paras.subList(Math.min(20, paras.size()), paras.size())) {
            for (String s : SENTENCE_END.split(p)) {
                String t = s.strip();
                int words = t.split("\\s+").length;
                if (words >= 8 && words <= 30 && t.indexOf('"') < 0 && t.indexOf('_') < 0 && t.indexOf('\'') < 0
                        && Character.isUpperCase(t.charAt(0))) {
                    candidates.add(t);
                }
            }
        }
        int half = SIZE / 2;
        if (candidates.size() < half) {
            throw new IllegalArgumentException("text yields only " + candidates.size() + " usable sentences, need " + half);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < half && out.size() < n; i++) {
            out.add(STORIES.get(i));
            if (out.size() < n) {
                out.add(candidates.get((int) ((long) i * candidates.size() / half)));
            }
        }
        return out;
    }
}
