print("runner benchmarks: nothing registered yet")
