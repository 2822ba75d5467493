//! The benches allocate with mimalloc, the allocator the Python package ships with
//! (`python/src/allocator.rs`): their figures are then the ones a Python caller gets. A packet
//! over thousands of candidates allocates a few strings per stored field it decodes; glibc's
//! malloc made the SQLite packet at 5,000 caps 15% slower (README, candidate scale).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
