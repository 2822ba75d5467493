//! The benches allocate with mimalloc, the allocator the Python package ships with
//! (`python/src/allocator.rs`): their figures are then the ones a Python caller gets. A packet
//! over thousands of candidates allocates a few strings per stored field it decodes; under glibc's
//! malloc the SQLite packet at 5,000 caps took 17% more instructions (README, candidate scale,
//! fourth pass).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
