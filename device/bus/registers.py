"""Datasheet facts about the two sensor chips: register addresses and field encodings (bus layer).

Shared by the register-level fakes (which must behave like the parts) and by the sensor
readers (which read blocks of registers directly on the fast path). Sources: NXP MPR121
datasheet rev. 4 and AN3944; TI ADS1115 datasheet SBAS444.
"""

from __future__ import annotations

# --- MPR121 capacitive touch controller -------------------------------------------------------
MPR121_ADDRESSES = (0x5A, 0x5B, 0x5C, 0x5D)  # set by the ADDR pin
MPR121_ELECTRODES = 12
MPR121_TOUCH_STATUS = 0x00  # 2 bytes, bit i = electrode i touched
MPR121_OOR_STATUS = 0x02  # 2 bytes, out-of-range flags
MPR121_FILTERED_DATA = 0x04  # 13 x 10-bit little-endian words (electrodes 0-11 + proximity)
MPR121_BASELINE = 0x1E  # 13 bytes, each the 10-bit baseline >> 2
MPR121_DATA_END = 0x2B  # first register after the read-only data block
MPR121_TOUCH_THRESHOLD = 0x41  # touch threshold of electrode i at 0x41 + 2*i, release at 0x42 + 2*i
MPR121_CONFIG1 = 0x5C
MPR121_CONFIG2 = 0x5D
MPR121_ECR = 0x5E  # electrode configuration: bits 3:0 enabled electrodes, 0 = stop mode
MPR121_GPIO_FIRST = 0x73  # 0x73..0x7A may be written in run mode
MPR121_GPIO_LAST = 0x7A
MPR121_SOFT_RESET = 0x80
MPR121_SOFT_RESET_KEY = 0x63
MPR121_CONFIG1_RESET = 0x10
MPR121_CONFIG2_RESET = 0x24  # the adafruit driver checks this value to identify the chip
MPR121_ECR_ELECTRODE_MASK = 0x0F
MPR121_ECR_PROXIMITY_MASK = 0x30
MPR121_DATA_MAX = 0x3FF  # 10-bit measurements

# --- ADS1115 16-bit delta-sigma ADC -------------------------------------------------------------
ADS1115_ADDRESSES = (0x48, 0x49, 0x4A, 0x4B)  # ADDR pin to GND, VDD, SDA, SCL
ADS1115_CONVERSION = 0x00
ADS1115_CONFIG = 0x01
ADS1115_LO_THRESH = 0x02
ADS1115_HI_THRESH = 0x03
ADS1115_POINTER_MASK = 0x03
ADS1115_CONFIG_RESET = 0x8583
ADS1115_LO_THRESH_RESET = 0x8000
ADS1115_HI_THRESH_RESET = 0x7FFF
ADS1115_OS = 0x8000  # write 1: start a single conversion; read 0: converting, 1: idle
ADS1115_MUX_SHIFT = 12
ADS1115_MUX_MASK = 0x7000
ADS1115_PGA_SHIFT = 9
ADS1115_PGA_MASK = 0x0E00
ADS1115_MODE_SINGLE = 0x0100  # 1 = single-shot / power-down, 0 = continuous
ADS1115_DR_SHIFT = 5
ADS1115_DR_MASK = 0x00E0
# Bits that hold settings (everything but OS and MUX): must read back as written.
ADS1115_SETTINGS_MASK = 0x0FFF
# MUX code -> (positive input, negative input or None for GND)
ADS1115_MUX_INPUTS: dict[int, tuple[int, int | None]] = {
    0: (0, 1), 1: (0, 3), 2: (1, 3), 3: (2, 3),
    4: (0, None), 5: (1, None), 6: (2, None), 7: (3, None),
}
# PGA code -> full-scale range in volts (codes 5..7 all mean +-0.256 V)
ADS1115_PGA_FULL_SCALE: dict[int, float] = {
    0: 6.144, 1: 4.096, 2: 2.048, 3: 1.024, 4: 0.512, 5: 0.256, 6: 0.256, 7: 0.256,
}
# The adafruit driver's gain value -> PGA code
ADS1115_GAIN_CODES: dict[float, int] = {2 / 3: 0, 1: 1, 2: 2, 4: 3, 8: 4, 16: 5}
# DR code -> samples per second
ADS1115_DATA_RATES: dict[int, int] = {0: 8, 1: 16, 2: 32, 3: 64, 4: 128, 5: 250, 6: 475, 7: 860}
ADS1115_RATE_CODES: dict[int, int] = {sps: code for code, sps in ADS1115_DATA_RATES.items()}
ADS1115_COMPARATOR_BITS = 0x001F  # COMP_MODE, COMP_POL, COMP_LAT, COMP_QUE
ADS1115_COMPARATOR_DISABLED = 0x0003  # COMP_QUE = 11
