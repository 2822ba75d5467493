//! The extension's Rust allocations go to mimalloc, as polars' do: reads build many small
//! strings (a search's postings, a listing's rows), and glibc's malloc slows down on them once
//! the host process has fragmented its heap (measured: item search 40% slower after a LangChain
//! history had been read in the same process). Python's own objects are not affected.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
