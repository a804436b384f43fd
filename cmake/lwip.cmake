# lwIP socket-API backend targets (usock::lwip)
