"""Worker processes for CPU-heavy work kept off the event loop (markdown, file extraction)."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def new_process_pool(workers: int, preload: str) -> ProcessPoolExecutor:
    """A pool whose workers a forkserver forks: a fresh process, not this one with its
    threads and connections, that imports `preload` once for all of them. Where there is no
    forkserver (Windows, some macOS builds), each worker is spawned instead."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([preload])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)
