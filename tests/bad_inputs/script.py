print('water')
