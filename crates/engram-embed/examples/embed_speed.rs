//! Times MiniLmEmbedder on a query, short messages and long turns (cut at 256 tokens):
//! `cargo run --release -p engram-embed --example embed_speed -- MODEL.onnx`.
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: embed_speed MODEL.onnx")?;
    let started = Instant::now();
    let embedder = engram_embed::MiniLmEmbedder::load(&path)?;
    println!("load {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    let query = vec!["What did I say about the trip to Lisbon and the train tickets?".to_string()];
    let long = "Sure! Here is a detailed plan for your trip, covering the budget, the train, the hotel and what to see on each day of the week. ".repeat(8);
    let short = vec!["Thanks, booked the 9:40 train to Porto for Friday.".to_string(); 256];
    for (label, texts, rounds) in
        [("query", query, 50), ("short message x256", short, 2), ("256-token turn x32", vec![long; 32], 2)]
    {
        embedder.encode(&texts)?;
        let started = Instant::now();
        for _ in 0..rounds {
            embedder.encode(&texts)?;
        }
        println!("{label}: {:.2} ms per call", started.elapsed().as_secs_f64() * 1e3 / f64::from(rounds));
    }
    Ok(())
}
