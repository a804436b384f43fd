# lwIP built from source for NO_SYS=1 (lwip_raw backend)
